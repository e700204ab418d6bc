"""Dragging: the time-dependent nuclear master equation under a stepped laser detuning
[Latta09, Sec. I, Figs. S1-S2].

The laser detuning is held at ``δ_k`` for a dwell time ``T_dwell``, then stepped by ``Δ``.
During a dwell the generator of every ladder is constant (the conditional QD state follows
the nuclei adiabatically), so one dwell is exact: ``p_I ← expm(G_I(δ_k) T_dwell) p_I``,
the piecewise-constant propagation of :func:`jaxspin.propagate`. Each ladder is a reversible
birth-death chain, so ``expm(G_I T)`` is applied through the chain's relaxation modes
(:func:`jaxspin.birth_death_modes`: one symmetric eigendecomposition per step and ladder
serves every dwell time; ~10x cheaper than one dense ``expm`` and free of its squaring
limit for long dwells). ``tests/latta09/test_dragging.py`` checks a scan against
:func:`jaxspin.propagate` and :func:`jaxspin.ratesolve`.

The signal recorded after each dwell is the absorption ``Σ_m P(m) (Γ+γ_hhlh) ρ_tt(m; δ_k)``
(the lock-in output at the end of the dwell, whose time constant is ``T_dwell`` in the
experiment). The *dragging width* of a scan is the extent of the contiguous region around
its absorption maximum where the absorption stays above ``threshold × max``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import jit
from .._inputs import check_finite, check_value
from .._memory import check_fits
from .._ratematrix import birth_death_modes, generator
from .._steady import AbstractSteadyStateSolver, DenseLU
from ._dicke import DickeSpace, ladder_matrix_elements
from ._dot import absorption, steadystates
from ._parameters import RATE_UNIT_PER_SECOND, Latta09Params, check_params
from ._propagators import AbstractLadderPropagator, RelaxationModes
from ._rates import ladder_coefficients, process_coefficients
from ._stationary import check_space, ladder_shape, mixture


def _ladder_rates(params: Latta09Params, space: DickeSpace, solver=DenseLU()):
    """Up/down rates ``(L, K)`` of every ladder and the conditional absorption ``(K,)``."""
    n = space.n_nuclei
    shift = params.hyperfine / n * jnp.asarray(space.m)
    rho, _ = steadystates(params, shift, solver)
    coeffs = process_coefficients(params, n, rho, shift)
    a, b = ladder_coefficients(coeffs)
    m_up, m_down = ladder_matrix_elements(jnp.asarray(space.spins), jnp.asarray(space.m))
    return a * m_up, b * m_down, a, b, absorption(params, rho)


def ladder_generators(params: Latta09Params, space: DickeSpace) -> Float[Array, "L K K"]:
    """Generators ``G_I`` (``dp/dt = G p``, :func:`jaxspin.generator` convention) of every
    kept ladder at ``params.detuning``, on the common ``I_z`` grid ``space.m`` (states with
    ``|m| > I`` are unreachable and carry no rates) [µeV]. Refuses, with the size, an
    ``(L, K, K)`` result that would not fit in memory."""
    check_modes_fit(check_space(space))
    return _generators_and_absorption(params, space)[0]


def _generators_and_absorption(params, space):
    up, down, _, _, absm = _ladder_rates(params, space)
    k = space.num_m

    def one(u, d):
        W = jnp.zeros((k, k), u.dtype)
        W = W.at[jnp.arange(1, k), jnp.arange(k - 1)].set(u[:-1])  # m -> m+1
        W = W.at[jnp.arange(k - 1), jnp.arange(1, k)].set(d[1:])  # m -> m-1
        return generator(W)

    return jax.vmap(one)(up, down), absm


def stationary_ladders(
    params: Latta09Params, space: DickeSpace, solver=DenseLU()
) -> Float[Array, "L K"]:
    """Stationary ``P(I, m)`` (as in :func:`nuclear_steady_state`) on the ladder grid."""
    _, _, a, b, _ = _ladder_rates(params, space, solver)
    log_shape = ladder_shape(space, a, b)
    _, log_z, _, _ = mixture(space, log_shape)
    mask = jnp.asarray(space.ladder_mask())
    logp = jnp.asarray(space.log_weights)[:, None] - log_z[:, None] + log_shape
    return jnp.where(mask, jnp.exp(jnp.where(mask, logp, -jnp.inf)), 0.0)


def thermal_ladders(space: DickeSpace) -> Float[np.ndarray, "L K"]:
    """The fully mixed nuclear state: ``P(I, m) = w_I / (2I + 1)`` on every ladder."""
    w = np.exp(space.log_weights)
    return np.where(space.ladder_mask(), (w / (2 * space.spins + 1))[:, None], 0.0)


class DraggingScan(eqx.Module):
    """Stepped scans (one per dwell time, axis 0): per step ``detuning`` [µeV],
    ``absorption`` [µeV] at the end of the dwell, ``overhauser_shift`` = ``(A/N)⟨I_z⟩``
    [µeV], ``overhauser_std`` [µeV], ``polarization``; ``propagation_error``: the
    propagator's ℓ¹ error estimate of ``P(I, I_z)`` for that dwell (0 for the exact
    :class:`RelaxationModes`; their sum over steps bounds the scan's error, see
    :mod:`jaxspin.latta09._propagators`); each ``(D, S)``. The Dicke truncation adds at
    most ``space.tail_weight`` to the error of any probability (ladders never mix)."""

    detuning: Float[Array, "D S"]
    absorption: Float[Array, "D S"]
    overhauser_shift: Float[Array, "D S"]
    overhauser_std: Float[Array, "D S"]
    polarization: Float[Array, "D S"]
    propagation_error: Float[Array, "D S"]


def scan_detunings(start: float, stop: float, step: float) -> np.ndarray:
    """The stepped laser detunings ``start, start ± step, ...`` up to ``stop`` (inclusive
    within 1e-9 of a step) [µeV]; the direction follows ``stop − start``."""
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if not np.isfinite(value):
            raise ValueError(f"`{name}` must be finite; got {value!r}.")
    if step <= 0:
        raise ValueError(f"`step` must be > 0; got {step!r}.")
    count = np.floor(abs(stop - start) / step + 1e-9) + 1
    if not np.isfinite(count):
        raise ValueError(f"`(stop - start) / step` overflows: {stop - start!r} / {step!r}.")
    check_fits(8 * count, f"the {count:.3g} detunings of the scan")
    n = int(count) - 1
    return start + np.sign(stop - start) * step * np.arange(n + 1)


def ladder_modes(params: Latta09Params, space: DickeSpace, solver=DenseLU()):
    """Relaxation modes (:func:`jaxspin.birth_death_modes`) of every kept ladder at
    ``params.detuning`` (batched over ladders), and the conditional absorption ``(K,)``.
    Refuses, with the size, modes that would not fit in memory."""
    check_modes_fit(check_space(space))
    up, down, _, _, absm = _ladder_rates(params, space, solver)
    modes = jax.vmap(birth_death_modes)(up[:, :-1], down[:, 1:])
    return modes, absm


def drag(
    params: Latta09Params,
    space: DickeSpace,
    detunings: Float[Array, " S"],
    dwells: Float[Array, " D"],
    initial: Float[Array, "L K"] | None = None,
    *,
    solver: AbstractSteadyStateSolver = DenseLU(),
    propagator: AbstractLadderPropagator = RelaxationModes(),
) -> DraggingScan:
    """Run one stepped scan for several dwell times at once: at each of ``detunings`` [µeV]
    in turn the nuclei evolve for ``dwells`` [s] (each dwell its own, independent run).

    ``propagator``: :class:`RelaxationModes` (default; exact per step: every ladder is
    propagated with its relaxation modes, one decomposition per step and ladder serves all
    dwell times) or :class:`ImplicitEuler` (extrapolated backward-Euler substeps with an
    error estimate; ``O(L K)`` per substep instead of ``O(L K³)`` per step: the choice for
    ``N ≳ 10³``, e.g. ``N = 10⁵`` on the paper's time axis). ``initial``: ladder
    populations ``P(I, m)`` ``(L, K)`` before the first step (default: the stationary
    state at ``detunings[0]``, i.e. the laser parked there for long). ``params.detuning``
    is ignored. Returns a :class:`DraggingScan` with arrays
    ``(D, S)``. Differentiable.

    Checks: ``detunings`` and ``dwells`` non-empty 1-D (``ValueError``), ``detunings``
    finite, ``dwells`` finite and ``>= 0`` [s], ``initial`` of shape ``(L, K)``, finite and
    ``>= 0`` (``ValueError``, or ``eqx.error_if`` when traced); ``params`` as in
    :func:`nuclear_steady_state`; ``propagator`` an :class:`AbstractLadderPropagator`
    (``TypeError``); the propagator's working set (:meth:`AbstractLadderPropagator.nbytes`)
    must fit in memory (:class:`jaxspin.MemoryBudgetError` with the size otherwise).
    """
    check_space(space)
    detunings = jnp.asarray(detunings, float)
    dwells = jnp.asarray(dwells, float)
    if detunings.ndim != 1 or dwells.ndim != 1 or detunings.size == 0 or dwells.size == 0:
        raise ValueError(
            f"`detunings` and `dwells` must be non-empty 1-D arrays; got shapes "
            f"{detunings.shape}, {dwells.shape}."
        )
    detunings = check_finite(detunings, "detunings")
    dwells = check_value(
        dwells, lambda t: ~((t >= 0) & jnp.isfinite(t)), "`dwells` must be finite and >= 0 [s]."
    )
    if initial is not None:
        initial = jnp.asarray(initial, float)
        shape = (space.num_ladders, space.num_m)
        if initial.shape != shape:
            raise ValueError(
                f"`initial` must have shape (L, K) = {shape} (ladders x I_z of `space`); got "
                f"{initial.shape}."
            )
        initial = check_value(
            initial,
            lambda x: ~((x >= 0) & jnp.isfinite(x)),
            "`initial` (ladder populations) must be finite and >= 0.",
        )
    if not isinstance(propagator, AbstractLadderPropagator):
        raise TypeError(
            f"`propagator` must be a latta09 AbstractLadderPropagator (RelaxationModes(), "
            f"ImplicitEuler()); got {type(propagator).__name__}."
        )
    check_modes_fit(space, dwells.shape[0], propagator)
    return _drag(params, space, detunings, dwells, initial, solver, propagator)


def check_modes_fit(
    space: DickeSpace,
    copies: int = 1,
    propagator: AbstractLadderPropagator = RelaxationModes(),
) -> None:
    """Refuse (with the size) a dragging step whose working set (``propagator.nbytes`` for
    the ``L`` ladders of ``K`` states and ``copies`` dwells) would not fit in memory."""
    L, K = space.num_ladders, space.num_m
    check_fits(
        propagator.nbytes(L, K, copies),
        f"one dragging step with {type(propagator).__name__} for {copies} dwell(s) of the {L} "
        f"ladders of {K} states (N = {space.n_nuclei}, spin {space.spin:g})",
    )


@jit
def _drag(params, space, detunings, dwells, initial, solver, propagator) -> DraggingScan:
    params = check_params(params)
    scale = params.hyperfine / space.n_nuclei
    m = jnp.asarray(space.m)
    times = dwells * RATE_UNIT_PER_SECOND
    at = lambda delta: eqx.tree_at(lambda q: q.detuning, params, delta)
    if initial is None:
        initial = stationary_ladders(at(detunings[0]), space, solver)
    p0 = jnp.broadcast_to(jnp.asarray(initial, float), (dwells.shape[0],) + initial.shape)

    def step(p, delta):
        up, down, _, _, absm = _ladder_rates(at(delta), space, solver)
        p, err = propagator.evolve(up, down, p, times)
        pm = jnp.sum(p, axis=1)
        pm = pm / jnp.sum(pm, axis=-1, keepdims=True)
        mean = pm @ m
        var = pm @ m**2 - mean**2
        obs = (
            pm @ absm,
            scale * mean,
            scale * jnp.sqrt(jnp.clip(var, 0.0, None)),
            mean / space.max_polarization_spin,
            err,
        )
        return p, obs

    _, (absn, shift, std, pol, err) = jax.lax.scan(step, p0, detunings)
    det = jnp.broadcast_to(detunings, absn.T.shape)
    return DraggingScan(det, absn.T, shift.T, std.T, pol.T, err.T)


def dragging_width(
    detunings: Float[np.ndarray, " S"],
    absorption: Float[np.ndarray, " S"],
    threshold: float = 0.5,
) -> float:
    """Extent [µeV] of the contiguous region around the absorption maximum of a scan where
    the absorption stays ≥ ``threshold × max`` (edges linearly interpolated; host-side)."""
    x = np.asarray(detunings, float)
    y = np.asarray(absorption, float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(
            f"need 1-D `detunings` and `absorption` of one shape with >= 2 points; got "
            f"{x.shape} and {y.shape}."
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("`detunings` and `absorption` must be finite.")
    if not 0 < threshold <= 1:
        raise ValueError(f"`threshold` must be in (0, 1]; got {threshold!r}.")
    level = threshold * y.max()
    i = int(np.argmax(y))
    lo = i
    while lo > 0 and y[lo - 1] >= level:
        lo -= 1
    hi = i
    while hi < y.size - 1 and y[hi + 1] >= level:
        hi += 1

    def edge(inner, outer):
        if outer < 0 or outer >= y.size:
            return x[inner]
        return x[inner] + (y[inner] - level) / (y[inner] - y[outer]) * (x[outer] - x[inner])

    return float(abs(edge(hi, hi + 1) - edge(lo, lo - 1)))
