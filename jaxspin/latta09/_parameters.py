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
from jaxtyping import Array, Float

from .. import constants


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

    Example:
        >>> from jaxspin.latta09 import Latta09Params
        >>> p = Latta09Params(detuning=0.5)
        >>> round(float(p.omega_z), 2)  # |g_e| μ_B B at 4.5 T [µeV]
        174.5
    """

    detuning: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["detuning"][0])
    rabi: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["rabi"][0])
    gamma: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["gamma"][0])
    gamma_hhlh: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["gamma_hhlh"][0])
    kappa: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["kappa"][0])
    hyperfine: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["hyperfine"][0])
    field: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["field"][0])
    g_e: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["g_e"][0])
    spin_dephasing: Float[Array, ""] = eqx.field(
        converter=_f, default=DEFAULTS["spin_dephasing"][0]
    )
    decay: Float[Array, ""] = eqx.field(converter=_f, default=DEFAULTS["decay"][0])

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
        """A copy with some fields changed (``p.replace(rabi=2.0)``)."""
        for name in changes:
            if name not in DEFAULTS:
                raise ValueError(f"Latta09Params has no field {name!r}; fields: {list(DEFAULTS)}.")
        return eqx.tree_at(
            lambda q: [getattr(q, k) for k in changes],
            self,
            [_f(v) for v in changes.values()],
        )


def check_params(params: Latta09Params) -> Latta09Params:
    """Value checks (inside jit: ``eqx.error_if``): rates ≥ 0, Γ, κ, A, B, Ω_L finite and the
    ones that set time scales > 0."""
    leaves = [
        params.gamma,
        params.gamma_hhlh,
        params.kappa,
        params.hyperfine,
        params.field,
        params.rabi,
        params.spin_dephasing,
        params.decay,
        params.detuning,
        params.g_e,
    ]
    bad_finite = ~jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
    bad_sign = (
        jnp.any(params.gamma <= 0)
        | jnp.any(params.kappa <= 0)
        | jnp.any(params.gamma_hhlh < 0)
        | jnp.any(params.spin_dephasing < 0)
        | jnp.any(params.decay <= 0)
        | jnp.any(params.field <= 0)
        | jnp.any(params.g_e == 0)
        | jnp.any(params.hyperfine < 0)
        | jnp.any(params.rabi < 0)
    )
    gamma = eqx.error_if(params.gamma, bad_finite, "Latta09Params: a parameter is NaN or inf.")
    gamma = eqx.error_if(
        gamma,
        bad_sign,
        "Latta09Params: need gamma, kappa, decay, field > 0, g_e != 0 and gamma_hhlh, "
        "spin_dephasing, hyperfine, rabi >= 0.",
    )
    return eqx.tree_at(lambda q: q.gamma, params, gamma)


def electron_zeeman_ueV(g_e: float, field_tesla: float) -> float:
    """``|g_e| μ_B B`` in µeV (plain float helper for examples and tables)."""
    return abs(g_e) * MU_B_UEV_PER_T * field_tesla


def seconds_to_rate_units(t_seconds) -> float:
    """A time in seconds as a dimensionless product with rates in µeV: ``t · (1 µeV/ħ)``."""
    return t_seconds * RATE_UNIT_PER_SECOND


__all__ = [
    "DEFAULTS",
    "Latta09Params",
    "RATE_UNIT_PER_SECOND",
    "check_params",
    "electron_zeeman_ueV",
    "seconds_to_rate_units",
]
