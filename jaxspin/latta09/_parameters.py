"""Parameters of the Latta09 quantum-dot / nuclear-spin model, with every default and its
source in one place.

**Units.** Energies *and* rates are in µeV (ħ = 1: a rate ``r`` µeV means ``r µeV/ħ``,
``1 µeV/ħ = 1.519e9 s⁻¹``); the magnetic field is in tesla; times given by users (dwell
times) are in seconds and converted with :data:`RATE_UNIT_PER_SECOND`.

**Sign conventions** (decided by the tests in ``tests/latta09/test_dot.py`` and
``test_stationary.py``):

- ``detuning`` is ``Δω = ω_t − ω_L`` (bare trion energy minus laser photon energy):
  ``Δω > 0`` is a *red*-detuned laser [Latta09, Sec. III, "red-detuned by δ_L ... Δω̃ =
  δ_locking + δ_L"].
- With ``g_e < 0`` the spin-up electron |↑⟩ is the lower Zeeman level and
  ``H_0 = ω_z σ_↓↓ + ω_t σ_tt`` with ``ω_z = |g_e| μ_B B > 0`` [Latta09, Eq. (1)]; the
  laser drives the blue transition |↑⟩ ↔ |t⟩.
- Uniform hyperfine couplings ``A_i = A/N``: ``H_OH = Σ_i 2 A_i I_z^i S_z = (A/N) I_z
  (σ_↑↑ − σ_↓↓)`` [Latta09, Eq. (10) with σ_z ≡ S_z]. Nuclei polarised along +z
  (``I_z > 0``) raise |↑⟩ and so *red*-shift the blue transition: the effective detuning
  is ``Δω̃ = Δω − (A/N) I_z``; the nuclear field ``B_N = 2 A I_z / (N g_e μ_B)`` points
  along −z because ``g_e < 0`` [Latta09, Sec. III].
- The laser Hamiltonian is ``(Ω_L/2)(σ_t↑ + σ_↑t)``: Eq. (2) prints ``Ω_L`` without the
  ½, but only with it does the two-level limit reproduce the paper's own absorption rate
  ``W_abs = Ω_L² Γ / (4Δω² + 2Ω_L² + Γ²)`` (Sec. II and Eq. (15));
  ``test_dot.py::test_two_level_limit_is_eq15`` decides this reading.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import constants
from .._inputs import check_value


#: ``1 µeV/ħ`` in s⁻¹: multiply a rate in µeV by this to get s⁻¹.
RATE_UNIT_PER_SECOND = constants.ueV_to_angular_frequency(1.0)

#: ``μ_B`` in µeV/T.
MU_B_UEV_PER_T = constants.MU_B / constants.UEV


def _f(x):
    return jnp.asarray(x, dtype=float)


#: Every default and where it comes from (the table in README.md, latta09).
DEFAULTS: dict[str, tuple[float, str, str]] = {
    "detuning": (0.0, "µeV", "Δω = ω_t − ω_L; scanned."),
    "rabi": (
        1.0,
        "µeV",
        "Ω_L = Γ: the Rabi frequency of Fig. S2b and of the γ_spin calibration [Latta09, Sec. II].",
    ),
    "gamma": (
        1.0,
        "µeV",
        "Γ, trion radiative rate (lifetime 0.66 ns): self-assembled InGaAs trions have "
        "Γ ≈ 0.7-1.2 µeV (Latta09 quote detunings of 0.2-2 µeV relative to Γ).",
    ),
    "gamma_hhlh": (
        0.01,
        "µeV",
        "γ_hhlh = Γ/100: heavy-light-hole-mixing Raman branching ~1e-2-1e-3 (Atatüre et al., "
        "Science 312, 551 (2006)); the issue's suggestion.",
    ),
    "kappa": (
        0.005,
        "µeV",
        "κ = Γ/200 (≈ 1/(130 ns)): spin-flip co-tunnelling in gated dots, 1/(10 ns)-1/µs "
        "depending on gate voltage (Smith et al., PRL 94, 197402 (2005)). Chosen below "
        "c_spin·W_peak·γ_hhlh/Γ so that a locking point exists at Ω_L = Γ (see README).",
    ),
    "hyperfine": (
        100.0,
        "µeV",
        "A: Overhauser splitting of a fully polarised spin-½ bath (A_i = A/N). InGaAs: "
        "Σ_j A_j I_j ≈ 100-130 µeV (Urbaszek et al., RMP 85, 79 (2013)).",
    ),
    "field": (4.5, "T", "B = 4.5 T [Latta09, Sec. I]."),
    "g_e": (-0.67, "1", "g_e = −0.67, measured for this dot [Latta09, Sec. I]."),
    "spin_dephasing": (
        3.0,
        "1",
        "c_spin in γ_spin = c_spin W_abs(Δω̃): c_spin = 3 gives γ_spin = Γ at Ω_L = Γ, "
        "Δω = 0 (W_abs = Γ/3), the value the paper used for its Fig. 3E [Latta09, Sec. II].",
    ),
    "decay": (
        0.1,
        "1",
        "η: nuclear decay rate γ_dec = η (A/(N ω_z))² Γ, i.e. in units of the reverse-"
        "Overhauser rate per unit ρ_tt; the paper's 'resident electron mediated decay' "
        "[Latta09, Sec. III] scales like the other hyperfine-assisted rates. Open in the "
        "paper: 0.1 keeps it below the electron-mediated part of the flip-flops "
        "(ε γ_spin ~ 0.3-1 ε Γ near resonance), so that it limits |P| only far from resonance.",
    ),
}


#: field -> (bad(x), what it must be), the checks of :class:`Latta09Params` (NaN fails all).
FIELD_CHECKS: dict[str, tuple] = {
    "detuning": (lambda x: ~jnp.isfinite(x), "finite"),
    "rabi": (lambda x: ~((x >= 0) & jnp.isfinite(x)), "finite and >= 0"),
    "gamma": (lambda x: ~((x > 0) & jnp.isfinite(x)), "finite and > 0"),
    "gamma_hhlh": (lambda x: ~((x >= 0) & jnp.isfinite(x)), "finite and >= 0"),
    "kappa": (lambda x: ~((x > 0) & jnp.isfinite(x)), "finite and > 0"),
    "hyperfine": (lambda x: ~((x > 0) & jnp.isfinite(x)), "finite and > 0"),
    "field": (lambda x: ~((x > 0) & jnp.isfinite(x)), "finite and > 0"),
    "g_e": (lambda x: ~(jnp.isfinite(x) & (x != 0)), "finite and non-zero"),
    "spin_dephasing": (lambda x: ~((x >= 0) & jnp.isfinite(x)), "finite and >= 0"),
    "decay": (lambda x: ~((x > 0) & jnp.isfinite(x)), "finite and > 0"),
}


def _checked(name: str, value) -> Array:
    bad, what = FIELD_CHECKS[name]
    unit = DEFAULTS[name][1]
    return check_value(_f(value), bad, f"Latta09Params: `{name}` must be {what} (unit {unit}).")


class Latta09Params(eqx.Module):
    """Physical parameters of one point of the Latta09 model (all traced: ``jax.grad`` and
    ``jax.vmap`` act on any of them). Units: µeV for energies and rates, T for ``field``.

    Fields (defaults and sources: :data:`DEFAULTS`, the latta09 section of README.md):

    - ``detuning``: bare laser detuning ``Δω = ω_t − ω_L`` [µeV] (> 0: red-detuned laser).
    - ``rabi``: laser Rabi frequency ``Ω_L`` [µeV]; ``H_laser = (Ω_L/2)(σ_t↑ + σ_↑t)``.
    - ``gamma``: trion radiative decay ``Γ`` (|t⟩ → |↑⟩) [µeV].
    - ``gamma_hhlh``: heavy-light-hole Raman decay ``γ_hhlh`` (|t⟩ → |↓⟩) [µeV].
    - ``kappa``: spin-flip co-tunnelling ``κ`` (|↑⟩ ↔ |↓⟩, each way) [µeV].
    - ``hyperfine``: hyperfine constant ``A`` [µeV]; couplings ``A_i = A/N``.
    - ``field``: magnetic field ``B`` [T]; ``g_e``: electron g-factor (< 0).
    - ``spin_dephasing``: ``c_spin`` with ``γ_spin = c_spin W_abs(Δω̃)`` (dimensionless).
    - ``decay``: ``η`` with ``γ_dec = η (A/(N ω_z))² Γ`` (dimensionless).

    Construction (and :meth:`replace`) refuses values outside :data:`FIELD_CHECKS` —
    ``Γ, κ, A, B, η > 0``; ``Ω_L, γ_hhlh, c_spin >= 0``; ``g_e != 0``; everything finite —
    naming the field: ``ValueError`` for concrete values, ``eqx.error_if`` (a runtime
    error) for values traced inside ``jit``/``vmap``. Fields may be arrays (a batch to
    ``vmap`` over); the model's functions take one point.

    Example:
        >>> from jaxspin.latta09 import Latta09Params
        >>> p = Latta09Params(detuning=0.5)
        >>> round(float(p.omega_z), 2)  # |g_e| μ_B B at 4.5 T [µeV]
        174.52
    """

    detuning: Float[Array, ""]
    rabi: Float[Array, ""]
    gamma: Float[Array, ""]
    gamma_hhlh: Float[Array, ""]
    kappa: Float[Array, ""]
    hyperfine: Float[Array, ""]
    field: Float[Array, ""]
    g_e: Float[Array, ""]
    spin_dephasing: Float[Array, ""]
    decay: Float[Array, ""]

    def __init__(
        self,
        detuning: ArrayLike = DEFAULTS["detuning"][0],
        rabi: ArrayLike = DEFAULTS["rabi"][0],
        gamma: ArrayLike = DEFAULTS["gamma"][0],
        gamma_hhlh: ArrayLike = DEFAULTS["gamma_hhlh"][0],
        kappa: ArrayLike = DEFAULTS["kappa"][0],
        hyperfine: ArrayLike = DEFAULTS["hyperfine"][0],
        field: ArrayLike = DEFAULTS["field"][0],
        g_e: ArrayLike = DEFAULTS["g_e"][0],
        spin_dephasing: ArrayLike = DEFAULTS["spin_dephasing"][0],
        decay: ArrayLike = DEFAULTS["decay"][0],
    ):
        values = dict(
            detuning=detuning,
            rabi=rabi,
            gamma=gamma,
            gamma_hhlh=gamma_hhlh,
            kappa=kappa,
            hyperfine=hyperfine,
            field=field,
            g_e=g_e,
            spin_dephasing=spin_dephasing,
            decay=decay,
        )
        for name, value in values.items():
            setattr(self, name, _checked(name, value))

    @property
    def omega_z(self) -> Float[Array, ""]:
        """Electron Zeeman splitting ``ω_z = |g_e| μ_B B`` [µeV] (|↓⟩ above |↑⟩ for g_e < 0)."""
        return jnp.abs(self.g_e) * MU_B_UEV_PER_T * self.field

    def hyperfine_scale(self, n_nuclei: int) -> Float[Array, ""]:
        """``(A / (N ω_z))²``: the Schrieffer-Wolff factor of every hyperfine-assisted rate
        per nuclear matrix element [Latta09, Eq. (7)-(9) with A_i = A/N] (dimensionless)."""
        return (self.hyperfine / (n_nuclei * self.omega_z)) ** 2

    def gamma_dec(self, n_nuclei: int) -> Float[Array, ""]:
        """Nuclear decay rate ``γ_dec = η (A/(N ω_z))² Γ`` [µeV]: ``d⟨I_z⟩/dt = −γ_dec ⟨I_z⟩``
        from decay alone (see :mod:`jaxspin.latta09._rates`)."""
        return self.decay * self.hyperfine_scale(n_nuclei) * self.gamma

    def replace(self, **changes) -> "Latta09Params":
        """A copy with some fields changed (``p.replace(rabi=2.0)``), checked as at
        construction."""
        for name in changes:
            if name not in DEFAULTS:
                raise ValueError(f"Latta09Params has no field {name!r}; fields: {list(DEFAULTS)}.")
        return eqx.tree_at(
            lambda q: [getattr(q, k) for k in changes],
            self,
            [_checked(k, v) for k, v in changes.items()],
        )


def check_params(params: Latta09Params, *, throw: bool = True):
    """The entry points' check of a parameter point, inside their ``jit``: ``params`` must
    be a :class:`Latta09Params` of scalars (``ValueError``; ``vmap`` to batch), and every
    field within :data:`FIELD_CHECKS` (``eqx.error_if`` naming the field: a point built
    with ``eqx.tree_at`` bypasses the constructor).

    ``throw=True`` returns the checked ``params``; ``throw=False`` returns
    ``(params, bad)``: a bad field replaced by its default and ``bad`` flagging the point,
    so that the caller returns NaN and a result code for it."""
    if not isinstance(params, Latta09Params):
        raise TypeError(f"`params` must be a Latta09Params; got {type(params).__name__}.")
    for name in DEFAULTS:
        shape = jnp.shape(getattr(params, name))
        if shape != ():
            raise ValueError(
                f"`params.{name}` has shape {shape}: the latta09 functions take one parameter "
                "point (scalars); jax.vmap over a batch of parameters."
            )
    if throw:
        return eqx.tree_at(
            lambda q: [getattr(q, k) for k in DEFAULTS],
            params,
            [_checked(k, getattr(params, k)) for k in DEFAULTS],
        )
    bads = {k: FIELD_CHECKS[k][0](getattr(params, k)) for k in DEFAULTS}
    safe = [jnp.where(bads[k], DEFAULTS[k][0], getattr(params, k)) for k in DEFAULTS]
    bad = jnp.any(jnp.stack(list(bads.values())))
    return eqx.tree_at(lambda q: [getattr(q, k) for k in DEFAULTS], params, safe), bad


def electron_zeeman_ueV(g_e: float, field_tesla: float) -> float:
    """``|g_e| μ_B B`` in µeV (plain float helper for examples and tables)."""
    return abs(g_e) * MU_B_UEV_PER_T * field_tesla


def seconds_to_rate_units(t_seconds) -> float:
    """A time in seconds as a dimensionless product with rates in µeV: ``t · (1 µeV/ħ)``."""
    return t_seconds * RATE_UNIT_PER_SECOND


__all__ = [
    "DEFAULTS",
    "FIELD_CHECKS",
    "Latta09Params",
    "RATE_UNIT_PER_SECOND",
    "check_params",
    "electron_zeeman_ueV",
    "seconds_to_rate_units",
]
