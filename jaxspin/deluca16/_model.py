"""The DNP model of [DeLuca16, Eq. (9)]: N electron spins, one nuclear spin, Table I.

Units: every frequency/energy is an angular frequency in **rad/µs** (ħ = 1; a frequency of
``f`` MHz is ``2π f`` rad/µs), every time is in **µs**, rates are in 1/µs, and the inverse
lattice temperature ``beta = ħ/(k_B T)`` is in µs. :func:`mhz` converts the paper's cyclic
MHz values.

Hamiltonian [DeLuca16, Eq. (9)] (laboratory frame)::

    H = Σ_i (ω_e + Δ_i) S^z_i + Σ_{i<j} U_ij (S^+_i S^-_j + S^-_i S^+_j)
        − ω_n I^z + Σ_i D_i S^z_i I^x

The microwave enters through the rotating frame Eq. (15) (``H − ω_MW S^z + ω_1 S^x``),
treated as the rates of Eq. (16) between eigenstates of ``H``.

Table I, and the readings taken here:

- ``ω_e = 2π·93.9 GHz`` at ``B = 3.35 T``; ``Δω_e`` is printed as "54 2π GHz" but the text
  (``U/Δω_e ≃ 0.3`` for ``U = 15 MHz``) and Fig. 2's axis make it ``2π·54 MHz``;
  ``ω_n = 2π·20 MHz`` as printed (a 13C nucleus at 3.35 T would precess at 35.9 MHz; the
  printed value is kept); ``ω_1 = 2π·0.25e-4 GHz = 2π·25 kHz``; ``T1e = 1 s``,
  ``T2e = 1 µs``; ``β⁻¹ = 0.83 K``.
- ``U`` is given in MHz like ``Δω_e`` and enters as ``2π U`` (only ``U/Δω_e`` matters).
- The paper does not give ``D``. The default ``D = 2π·0.05 MHz`` keeps the nuclear spin
  a thermometer (``D ≪ ω_n`` and ``D ≪`` the electron level spacing); ``P_n`` does not
  depend on ``D`` in that regime (every nuclear-flip rate scales as ``D²``), which
  ``examples/deluca16.py`` shows (figure ``deluca16_D_dependence.png``) and
  ``tests/deluca16`` checks.
- Changing the field ``B`` scales ``ω_e``, ``Δω_e`` (g-anisotropy) and ``ω_n`` with ``B``;
  the temperature and ``ω_1`` stay fixed.
- Disorder [DeLuca16, Sec. II B]: ``Δ_i`` equally spaced over ``[−Δω_e, Δω_e]``, end
  points included (``linspace``; the paper says "equally spaced inside the interval");
  ``U_ij = U_ji`` Gaussian with variance ``U²/N`` for ``i < j``; ``D_i`` Gaussian with
  variance ``D²/N``.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .._inputs import check_int, check_value, concretely
from ..constants import kelvin_to_angular_frequency


#: Table I of [DeLuca16] in the paper's units (cyclic frequencies, seconds, kelvin, tesla).
TABLE_I = {
    "B_tesla": 3.35,
    "omega_e_ghz": 93.9,
    "delta_omega_e_mhz": 54.0,
    "omega_n_mhz": 20.0,
    "omega_1_mhz": 0.025,
    "T1e_s": 1.0,
    "T2e_s": 1e-6,
    "temperature_k": 0.83,
}
#: The hyperfine scale chosen here (the paper gives none), cyclic MHz.
DEFAULT_D_MHZ = 0.05


def mhz(f: float | Array) -> float | Array:
    """Cyclic frequency in MHz → angular frequency in rad/µs (``2π f``)."""
    return 2 * math.pi * f


def beta_per_us(temperature_k: float) -> float:
    """Inverse temperature ``ħ/(k_B T)`` in µs (so ``β ω`` is dimensionless for ω in rad/µs).

    A concrete ``temperature_k`` [K] must be finite and > 0 (``ValueError``)."""
    refuse_now(temperature_k, "> 0", "temperature_k", "K")
    return 1e6 / kelvin_to_angular_frequency(temperature_k)


# --------------------------------------------------------------------------------------
# Validation: one table of what every field must satisfy
# --------------------------------------------------------------------------------------
_RULES = {
    "finite": (lambda a: ~jnp.isfinite(a), "finite"),
    "> 0": (lambda a: ~jnp.isfinite(a) | (a <= 0), "finite and > 0"),
    ">= 0": (lambda a: ~jnp.isfinite(a) | (a < 0), "finite and >= 0"),
}

#: What each :class:`Parameters` field must satisfy, and its unit.
PARAMETER_RULES = {
    "omega_e": ("> 0", "rad/µs"),
    "delta_omega_e": (">= 0", "rad/µs"),
    "omega_n": ("finite", "rad/µs"),
    "U": (">= 0", "rad/µs"),
    "D": (">= 0", "rad/µs"),
    "omega_1": (">= 0", "rad/µs"),
    "omega_mw": ("> 0", "rad/µs"),
    "T1e": ("> 0", "µs"),
    "T2e": ("> 0", "µs"),
    "beta": (">= 0", "µs"),
}
#: What each :class:`DeLucaModel` array must satisfy, and its unit.
MODEL_RULES = {"delta": ("finite", "rad/µs"), "U": ("finite", "rad/µs"), "D": ("finite", "rad/µs")}


def _message(name: str, rule: str, unit: str) -> str:
    return f"`{name}` must be {_RULES[rule][1]} [{unit}]."


def refuse_now(x, rule: str, name: str, unit: str) -> None:
    """Construction-time check: raise ``ValueError`` now if a *concrete* ``x`` breaks
    ``rule``. Traced values pass: the public entry points check them (raising, or with
    ``throw=False`` flagging the point), so a class built inside ``vmap`` cannot kill a
    ``throw=False`` batch."""
    bad = _RULES[rule][0]
    if concretely(x, lambda a: jnp.any(bad(jnp.asarray(a)))):
        shown = jnp.asarray(x)
        got = f"; got {float(shown)}" if shown.size == 1 else ""
        raise ValueError(_message(name, rule, unit)[:-1] + got + ".")


#: The values each computation reads, hence checks (a value it does not read is not
#: checked there: under ``jit`` such a check would be dead code). ``params.U``, ``params.D``
#: and ``params.delta_omega_e`` only shape the disorder (checked when :class:`Parameters`
#: is built from concrete values).
PIPELINE_FIELDS = (
    "delta", "U", "D", "params.omega_e", "params.omega_n", "params.omega_1",
    "params.omega_mw", "params.T1e", "params.T2e", "params.beta",
)  # fmt: skip
SPECTRUM_FIELDS = ("delta", "U", "D", "params.omega_n")  #: :func:`diagonalize`
ELECTRON_FIELDS = ("delta", "U")  #: the electron Hamiltonian (no nucleus; MBL)
KAPPA_FIELDS = ("omega_e", "omega_1", "omega_mw", "T1e", "T2e", "beta")  #: Eq. (21)
PE_FIELDS = KAPPA_FIELDS + ("delta_omega_e", "U")  #: the perturbative estimate


def _rule(field: str):
    own = field.removeprefix("params.")
    return MODEL_RULES[field] if field in MODEL_RULES else PARAMETER_RULES[own]


def _get(tree, field: str):
    for part in field.split("."):
        tree = getattr(tree, part)
    return tree


def float_leaves(tree):
    """Every leaf as a float array (``eqx.tree_at`` may have put a Python number there)."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.result_type(float)), tree)


def checked(tree, fields, name: str):
    """``tree`` (a :class:`DeLucaModel` or :class:`Parameters`) with the ``fields`` checked
    against :data:`MODEL_RULES`/:data:`PARAMETER_RULES`: ``ValueError`` now for concrete
    values, ``eqx.error_if`` (raised at run time) for traced ones. Messages name
    ``name.field``."""
    tree = float_leaves(tree)
    values = [
        check_value(_get(tree, f), _RULES[_rule(f)[0]][0], _message(f"{name}.{f}", *_rule(f)))
        for f in fields
    ]
    return eqx.tree_at(lambda t: [_get(t, f) for f in fields], tree, values)


def is_bad(tree, fields) -> Bool[Array, ""]:
    """Traced flag for ``throw=False`` paths: some of the ``fields`` of ``tree`` (one
    realization or parameter point) break their rule."""
    flags = [jnp.any(_RULES[_rule(f)[0]][0](_get(tree, f))) for f in fields]
    return jnp.any(jnp.stack(flags))


class Parameters(eqx.Module):
    """Global (realization-independent) parameters, all traced (rad/µs, µs).

    Build them with :func:`table1` (the paper's Table I, any entry overridable).
    Checked (:data:`PARAMETER_RULES`): ``omega_e``, ``omega_mw``, ``T1e``, ``T2e`` finite
    and > 0; ``delta_omega_e``, ``U``, ``D``, ``omega_1``, ``beta`` finite and >= 0;
    ``omega_n`` finite. Concrete values are refused here (``ValueError``); traced ones
    (built inside ``jit``/``vmap``) by every public entry point that uses them.
    """

    omega_e: Float[Array, ""]  #: mean electron Larmor frequency ω_e [rad/µs]
    delta_omega_e: Float[Array, ""]  #: half width Δω_e of the Zeeman offsets [rad/µs]
    omega_n: Float[Array, ""]  #: nuclear Larmor frequency ω_n [rad/µs]
    U: Float[Array, ""]  #: dipolar scale; U_ij has variance U²/N [rad/µs]
    D: Float[Array, ""]  #: hyperfine scale; D_i has variance D²/N [rad/µs]
    omega_1: Float[Array, ""]  #: microwave amplitude ω_1 [rad/µs]
    omega_mw: Float[Array, ""]  #: microwave angular frequency ω_MW (lab frame) [rad/µs]
    T1e: Float[Array, ""]  #: electron spin-lattice time [µs]
    T2e: Float[Array, ""]  #: electron transverse time (microwave line width) [µs]
    beta: Float[Array, ""]  #: lattice inverse temperature ħ/(k_B T) [µs]

    def __init__(self, omega_e, delta_omega_e, omega_n, U, D, omega_1, omega_mw, T1e, T2e, beta):
        dt = jnp.result_type(float)
        self.omega_e = jnp.asarray(omega_e, dt)
        self.delta_omega_e = jnp.asarray(delta_omega_e, dt)
        self.omega_n = jnp.asarray(omega_n, dt)
        self.U = jnp.asarray(U, dt)
        self.D = jnp.asarray(D, dt)
        self.omega_1 = jnp.asarray(omega_1, dt)
        self.omega_mw = jnp.asarray(omega_mw, dt)
        self.T1e = jnp.asarray(T1e, dt)
        self.T2e = jnp.asarray(T2e, dt)
        self.beta = jnp.asarray(beta, dt)
        for f, (rule, unit) in PARAMETER_RULES.items():
            refuse_now(getattr(self, f), rule, f, unit)


def table1(
    *,
    U_mhz: float = 15.0,
    mw_offset_mhz: float = -30.0,
    D_mhz: float = DEFAULT_D_MHZ,
    B_tesla: float = TABLE_I["B_tesla"],
    temperature_k: float = TABLE_I["temperature_k"],
    omega_1_mhz: float = TABLE_I["omega_1_mhz"],
    T1e_s: float = TABLE_I["T1e_s"],
    T2e_s: float = TABLE_I["T2e_s"],
) -> Parameters:
    """:class:`Parameters` of [DeLuca16, Table I] in the paper's units.

    ``U_mhz``, ``D_mhz``, ``omega_1_mhz``: cyclic MHz (converted with ``2π``).
    ``mw_offset_mhz``: ``(ω_MW − ω_e)/2π`` in MHz at the given field (the paper's Fig. 3
    does not state it; −30 MHz sits near the positive maximum of the DNP profile, Fig. 2).
    ``B_tesla`` scales ``ω_e``, ``Δω_e`` and ``ω_n`` linearly from their 3.35 T values
    (``mw_offset_mhz`` is *not* scaled: pass a scaled value to keep the relative position).
    Concrete arguments are checked: ``B_tesla``, ``temperature_k``, ``T1e_s``, ``T2e_s``
    finite and > 0; ``U_mhz``, ``D_mhz``, ``omega_1_mhz`` finite and >= 0;
    ``mw_offset_mhz`` finite (``ValueError`` naming the argument).
    """
    for name, x, rule, unit in (
        ("U_mhz", U_mhz, ">= 0", "MHz"),
        ("mw_offset_mhz", mw_offset_mhz, "finite", "MHz"),
        ("D_mhz", D_mhz, ">= 0", "MHz"),
        ("B_tesla", B_tesla, "> 0", "T"),
        ("temperature_k", temperature_k, "> 0", "K"),
        ("omega_1_mhz", omega_1_mhz, ">= 0", "MHz"),
        ("T1e_s", T1e_s, "> 0", "s"),
        ("T2e_s", T2e_s, "> 0", "s"),
    ):
        refuse_now(x, rule, name, unit)
    scale = B_tesla / TABLE_I["B_tesla"]
    omega_e = 2 * math.pi * TABLE_I["omega_e_ghz"] * 1e3 * scale
    return Parameters(
        omega_e=omega_e,
        delta_omega_e=mhz(TABLE_I["delta_omega_e_mhz"] * scale),
        omega_n=mhz(TABLE_I["omega_n_mhz"] * scale),
        U=mhz(U_mhz),
        D=mhz(D_mhz),
        omega_1=mhz(omega_1_mhz),
        omega_mw=omega_e + mhz(mw_offset_mhz),
        T1e=T1e_s * 1e6,
        T2e=T2e_s * 1e6,
        beta=beta_per_us(temperature_k),
    )


class DeLucaModel(eqx.Module):
    """One disorder realization of Eq. (9) with its global parameters.

    ``delta`` (``(N,)``): Zeeman offsets Δ_i [rad/µs]; ``U`` (``(N, N)``): flip-flop
    couplings (symmetric; the diagonal and the lower triangle are ignored, ``U[i, j]`` for
    ``i < j`` is used) [rad/µs]; ``D`` (``(N,)``): hyperfine couplings [rad/µs];
    ``params``: :class:`Parameters` (its ``U``, ``D`` and ``delta_omega_e`` only matter when
    drawing realizations). The number of spins ``N`` is static (it fixes the basis).
    Stack realizations with :func:`random_models` or ``jax.vmap``; every function of
    ``jaxspin.deluca16`` takes one realization and is vmapped over a batch.

    Checked: shapes (``N >= 1``); concrete ``delta``, ``U``, ``D`` must be finite
    (``ValueError``); traced ones are checked by the public entry points.
    """

    delta: Float[Array, " N"]
    U: Float[Array, "N N"]
    D: Float[Array, " N"]
    params: Parameters

    def __init__(self, delta, U, D, params: Parameters):
        dt = jnp.result_type(float)
        self.delta = jnp.asarray(delta, dt)
        self.U = jnp.asarray(U, dt)
        self.D = jnp.asarray(D, dt)
        self.params = params
        if not isinstance(params, Parameters):
            raise TypeError(f"`params` must be a Parameters; got {type(params).__name__}.")
        if self.delta.ndim < 1 or self.U.ndim < 2 or self.D.ndim < 1:
            raise ValueError(
                f"`delta` {self.delta.shape}, `U` {self.U.shape} and `D` {self.D.shape} must "
                "have shapes (..., N), (..., N, N) and (..., N)."
            )
        n = self.delta.shape[-1]
        if self.U.shape[-2:] != (n, n) or self.D.shape[-1] != n:
            raise ValueError(
                f"`delta` {self.delta.shape}, `U` {self.U.shape} and `D` {self.D.shape} must "
                "have shapes (..., N), (..., N, N) and (..., N)."
            )
        if n < 1:
            raise ValueError(
                f"`delta` must hold N >= 1 Zeeman offsets; got shape {self.delta.shape}."
            )
        for f, (rule, unit) in MODEL_RULES.items():
            refuse_now(getattr(self, f), rule, f, unit)

    @property
    def n_spins(self) -> int:
        return int(self.delta.shape[-1])


def positive_int(x, name: str = "n_spins") -> int:
    """``x`` as a Python int >= 1 (``ValueError`` naming ``name`` otherwise)."""
    return check_int(x, name, 1)


def equally_spaced_offsets(n_spins: int, delta_omega_e) -> Float[Array, " N"]:
    """Δ_i equally spaced over ``[−Δω_e, Δω_e]`` (end points included; ``0`` for N = 1).

    ``n_spins``: an int >= 1; a concrete ``delta_omega_e`` [rad/µs] must be finite and >= 0."""
    n_spins = positive_int(n_spins)
    refuse_now(delta_omega_e, ">= 0", "delta_omega_e", "rad/µs")
    if n_spins == 1:
        return jnp.zeros(1, jnp.result_type(float)) * delta_omega_e
    return delta_omega_e * jnp.linspace(-1.0, 1.0, n_spins)


def random_model(key: PRNGKeyArray, n_spins: int, params: Parameters) -> DeLucaModel:
    """Draw one realization as the paper does [DeLuca16, Sec. II B]: equally spaced Δ_i,
    Gaussian U_ij (variance U²/N, symmetric) and D_i (variance D²/N).

    ``n_spins``: an int >= 1; ``key``: a JAX PRNG key; ``params``: :class:`Parameters`."""
    n_spins = positive_int(n_spins)
    _check_key(key)
    if not isinstance(params, Parameters):
        raise TypeError(f"`params` must be a Parameters; got {type(params).__name__}.")
    ku, kd = jax.random.split(key)
    dt = jnp.result_type(float)
    scale_u = params.U / math.sqrt(n_spins)
    g = jax.random.normal(ku, (n_spins, n_spins), dt)
    upper = jnp.triu(g, 1)
    U = scale_u * (upper + upper.T)
    D = params.D / math.sqrt(n_spins) * jax.random.normal(kd, (n_spins,), dt)
    return DeLucaModel(equally_spaced_offsets(n_spins, params.delta_omega_e), U, D, params)


def random_models(
    key: PRNGKeyArray, n_spins: int, n_realizations: int, params: Parameters
) -> DeLucaModel:
    """``n_realizations`` (an int >= 1) independent realizations stacked on a leading axis
    (vmap-ready)."""
    n_spins = positive_int(n_spins)
    n_realizations = positive_int(n_realizations, "n_realizations")
    _check_key(key)
    keys = jax.random.split(key, n_realizations)
    return jax.vmap(lambda k: random_model(k, n_spins, params))(keys)


def _check_key(key) -> None:
    """A single PRNG key: a typed key (``jax.random.key``) or a raw ``uint32[2]``
    (``jax.random.PRNGKey``)."""
    typed = hasattr(key, "dtype") and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = hasattr(key, "dtype") and key.dtype == jnp.uint32 and getattr(key, "shape", ()) == (2,)
    if not ((typed and key.shape == ()) or raw):
        shown = f"{key.dtype}{list(key.shape)}" if hasattr(key, "dtype") else repr(key)
        raise ValueError(
            f"`key` must be one PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)); "
            f"got {shown}."
        )
