"""The three-level quantum dot |↑⟩, |↓⟩, |t⟩ for a given Overhauser shift [Latta09, Eq. (1)-(10)].

Basis order ``(|↑⟩, |↓⟩, |t⟩)`` (index 0, 1, 2). In the frame rotating with the laser and
with the Overhauser term ``(A/N) I_z (σ_↑↑ − σ_↓↓)`` for a nuclear state of given ``I_z``,
measured from the shifted |↑⟩ level,

    H = (ω_z − 2h) σ_↓↓ + (Δω − h) σ_tt + (Ω_L/2)(σ_t↑ + σ_↑t),     h = (A/N) I_z,

with the collapse processes (as engine ``rates[j, i]`` = rate ``i → j``)

    |t⟩ → |↑⟩ at Γ (radiative), |t⟩ → |↓⟩ at γ_hhlh, |↑⟩ ↔ |↓⟩ at κ each way.

The laser coupling of |↓⟩ ↔ |t⟩ (second term of Eq. (7)) is neglected as in the paper.
The hyperfine-assisted collapse operators of Sec. II are *not* part of this conditional
Lindbladian: they are O((A/(N ω_z))²) and move the nuclear state; their rates are computed
from the conditional QD state in :mod:`jaxspin.latta09._rates` (time-scale separation;
``tests/latta09/test_full_space.py`` shows the joint master equation converging to it).

The populations depend on ``I_z`` only through the effective detuning ``Δω̃ = Δω − h``
(|↓⟩ carries no driven coherence), which the solvers exploit.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from .._inputs import check_finite
from .._steady import RESULTS, AbstractSteadyStateSolver, DenseLU, steadystate
from ._parameters import Latta09Params


UP, DOWN, TRION = 0, 1, 2


def dot_hamiltonian(params: Latta09Params, shift: Float[Array, ""]) -> Complex[Array, "3 3"]:
    """``H`` above for one Overhauser shift ``h = (A/N) I_z`` [µeV] (one point)."""
    cdt = jnp.result_type(complex)
    diag = jnp.stack(
        [jnp.zeros_like(shift), params.omega_z - 2 * shift, params.detuning - shift]
    ).astype(cdt)
    half = (0.5 * params.rabi).astype(cdt)
    H = jnp.diag(diag)
    return H.at[TRION, UP].set(half).at[UP, TRION].set(half)


def dot_rates(params: Latta09Params) -> Float[Array, "3 3"]:
    """Engine rate matrix ``rates[j, i]`` (rate ``i → j``) of Γ, γ_hhlh and κ [µeV]."""
    z = jnp.zeros((3, 3), jnp.result_type(float))
    return (
        z.at[UP, TRION]
        .set(params.gamma)
        .at[DOWN, TRION]
        .set(params.gamma_hhlh)
        .at[DOWN, UP]
        .set(params.kappa)
        .at[UP, DOWN]
        .set(params.kappa)
    )


def dot_steadystate(
    params: Latta09Params,
    shift: Float[Array, "*batch"],
    *,
    solver: AbstractSteadyStateSolver = DenseLU(),
    throw: bool = True,
) -> Complex[Array, "*batch 3 3"]:
    """Conditional QD steady states ``ρ_QD(I_z)`` for an array of Overhauser shifts
    ``h = (A/N) I_z`` [µeV]: one batched :func:`jaxspin.steadystate`.

    ``solver``: the engine's :class:`jaxspin.DenseLU` (default: the unrolled 9 × 9
    elimination, fastest for large batches; ``DenseLU(unroll_max=0)`` compiles ~3x faster
    and suits small batches).

    ``shift`` must be finite (``ValueError``, or ``eqx.error_if`` when traced). With
    ``throw=False`` a shift whose solve fails, or a non-finite shift, gives a NaN ``ρ``
    for that entry only."""
    shift = jnp.asarray(shift, jnp.result_type(float))
    if throw:
        shift = check_finite(shift, "shift")
    rho, _ = steadystates(params, shift, solver, throw)
    return rho


def steadystates(params, shift, solver, throw=True) -> tuple[Array, Array | None]:
    """:func:`dot_steadystate` for shifts computed from checked parameters (no input check
    with ``throw=True``), and, with ``throw=False``, which entries failed (``*batch``
    booleans; ``None`` with ``throw=True``, where a failure raises)."""
    shift = jnp.asarray(shift, jnp.result_type(float))
    if throw:
        bad = None
    else:
        bad = ~jnp.isfinite(shift)
        shift = jnp.where(bad, 0.0, shift)
    flat = shift.reshape(-1)
    H = jax.vmap(lambda h: dot_hamiltonian(params, h))(flat)
    ss = steadystate(H, rates=dot_rates(params), solver=solver, throw=throw)
    rho = ss.rho.reshape(shift.shape + (3, 3))
    if bad is None:
        return rho, None
    failed = (ss.result != RESULTS.successful).reshape(shift.shape) | bad
    return jnp.where(failed[..., None, None], jnp.nan, rho), failed


def populations(rho: Complex[Array, "*batch 3 3"]) -> Float[Array, "*batch 3"]:
    """``(ρ_↑↑, ρ_↓↓, ρ_tt)``."""
    return jnp.real(jnp.diagonal(rho, axis1=-2, axis2=-1))


def absorption(params: Latta09Params, rho: Complex[Array, "*batch 3 3"]) -> Float[Array, "*batch"]:
    """Photon absorption (= emission) rate ``(Γ + γ_hhlh) ρ_tt`` [µeV] of a steady state:
    what the differential-transmission signal measures."""
    return (params.gamma + params.gamma_hhlh) * populations(rho)[..., TRION]


def w_abs(
    detuning: Float[Array, "*batch"], rabi: Float[Array, ""], gamma: Float[Array, ""]
) -> Float[Array, "*batch"]:
    """Stimulated absorption rate of the two-level transition
    ``W_abs = Ω_L² Γ / (4 Δω² + 2 Ω_L² + Γ²)`` [µeV] [Latta09, Sec. II and Eq. (15)]."""
    return rabi**2 * gamma / (4 * detuning**2 + 2 * rabi**2 + gamma**2)


def w_peak(rabi: Float[Array, ""], gamma: Float[Array, ""]) -> Float[Array, ""]:
    """``W_peak = Ω_L² Γ / (Γ² + 2 Ω_L²)`` [µeV] [Latta09, Eq. (15)]."""
    return rabi**2 * gamma / (gamma**2 + 2 * rabi**2)
