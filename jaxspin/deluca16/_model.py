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
from jaxtyping import Array, Float, PRNGKeyArray

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
    """Inverse temperature ``ħ/(k_B T)`` in µs (so ``β ω`` is dimensionless for ω in rad/µs)."""
    return 1e6 / kelvin_to_angular_frequency(temperature_k)


class Parameters(eqx.Module):
    """Global (realization-independent) parameters, all traced (rad/µs, µs).

    Build them with :func:`table1` (the paper's Table I, any entry overridable).
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
    """
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
        n = self.delta.shape[-1]
        if self.U.shape[-2:] != (n, n) or self.D.shape[-1] != n:
            raise ValueError(
                f"`delta` {self.delta.shape}, `U` {self.U.shape} and `D` {self.D.shape} must "
                "have shapes (..., N), (..., N, N) and (..., N)."
            )

    @property
    def n_spins(self) -> int:
        return int(self.delta.shape[-1])


def equally_spaced_offsets(n_spins: int, delta_omega_e) -> Float[Array, " N"]:
    """Δ_i equally spaced over ``[−Δω_e, Δω_e]`` (end points included; ``0`` for N = 1)."""
    if n_spins == 1:
        return jnp.zeros(1, jnp.result_type(float)) * delta_omega_e
    return delta_omega_e * jnp.linspace(-1.0, 1.0, n_spins)


def random_model(key: PRNGKeyArray, n_spins: int, params: Parameters) -> DeLucaModel:
    """Draw one realization as the paper does [DeLuca16, Sec. II B]: equally spaced Δ_i,
    Gaussian U_ij (variance U²/N, symmetric) and D_i (variance D²/N)."""
    if n_spins < 1:
        raise ValueError(f"`n_spins` must be >= 1; got {n_spins}.")
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
    """``n_realizations`` independent realizations stacked on a leading axis (vmap-ready)."""
    keys = jax.random.split(key, n_realizations)
    return jax.vmap(lambda k: random_model(k, n_spins, params))(keys)
