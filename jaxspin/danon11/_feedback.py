"""Nuclear polarisation dynamics with feedback: build-up, fixed points, hysteresis.

The mean nuclear spin obeys the scalar ODE ``d⟨K_z⟩/dt = F(⟨K_z⟩; B_ext)`` with
``F = model.polarization_rate`` (Eq. (12) or (16)/(23) evaluated at
``B_eff = B_ext - A⟨K_z⟩``, minus an optional relaxation ``γ_n ⟨K_z⟩``). Because the
electrons are re-solved at every ``⟨K_z⟩`` the feedback is exact within the paper's
separation of time scales.

- :func:`build_up` integrates the ODE (:func:`jaxspin.odesolve`).
- :func:`fixed_points` finds *all* zeros of ``F`` on ``[-K, K]``: ``F`` is evaluated on a
  fine grid, every sign change brackets a root, which ``optimistix.Bisection`` refines to
  ``xtol``; grid nodes where ``F`` vanishes (to ``1e-10`` of ``max|F|``) are roots too (the
  double dot pumps to exactly ``⟨K_z⟩ = K``). Stability from the sign of ``dF/dk``
  (``jax.grad``): ``< 0`` stable. Roots closer together than the grid spacing can be missed.
- :func:`follow_branch` / :func:`hysteresis` sweep ``B_ext`` adiabatically. In one dimension
  the flow from ``k`` goes monotonically to the nearest fixed point in the direction of
  ``sign F(k)``, so the attractor reached after each small step of ``B_ext`` is read off the
  fixed points (no time integration needed; checked against :func:`build_up` in the tests).
"""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike, Bool, Float

from .._checks import jit
from .._evolve import Trajectory, odesolve
from .._inputs import check_finite, check_int, check_value
from .._progress import Progress
from .._steady import AbstractSteadyStateSolver, DenseLU
from ._model import AbstractDotModel, float_fields


Scalar = Float[ArrayLike, ""]

# The electron steady-state/response solver used inside the feedback loops. Here the
# compile time dominates (the kernel is traced several times: grid, bisection, slope,
# ODE), and LAPACK's LU compiles about 3x faster than the unrolled LU at equal run time.
FEEDBACK_SOLVER = DenseLU(unroll_max=0)


def build_up(
    model: AbstractDotModel,
    b_ext: Scalar,
    ts: Float[ArrayLike, " T"],
    k0: Scalar = 0.0,
    *,
    ode_solver: diffrax.AbstractSolver | None = None,
    solver: AbstractSteadyStateSolver = FEEDBACK_SOLVER,
    rtol: float = 1e-8,
    atol: float = 1e-11,
    max_steps: int = 100_000,
    throw: bool = True,
) -> Trajectory:
    """Nuclear polarisation ``⟨K_z⟩(t)`` from ``k0`` at fixed ``B_ext``, saved at ``ts``.

    Integrates ``d⟨K_z⟩/dt = model.polarization_rate(⟨K_z⟩, B_ext)`` with
    :func:`jaxspin.odesolve` (default ``ode_solver=diffrax.Tsit5()``: the scalar nuclear
    equation is not stiff; the electron time scales were eliminated by solving their
    steady state with ``solver`` at every step). ``ts`` in the inverse of the model's
    frequency unit. Returns a :class:`jaxspin.Trajectory` with ``ys`` of shape ``(T,)``.
    Differentiable in the model parameters (used by :func:`fit_build_up`).

    Checks: ``ts`` a non-empty 1-D, finite, non-decreasing array; ``rtol``, ``atol`` > 0;
    ``max_steps`` a positive int (``ValueError``); ``k0`` finite in ``[-K, K]`` and
    ``b_ext`` finite (``ValueError``, or ``eqx.error_if`` when traced). With
    ``throw=False`` a bad ``k0``/``b_ext`` gives ``ys = NaN`` and
    ``result = diffrax.RESULTS.nonfinite_input`` for that point, and a failed integration
    keeps its result code.
    """
    model = _check_model(model)
    _check_tolerances(rtol=rtol, atol=atol)
    _check_count(max_steps, "max_steps", 1)
    ts = _check_times(ts, model.coupling.dtype)
    y0, b, bad = model._check_point(k0, b_ext, "b_ext", k_name="k0", throw=throw)
    traj = odesolve(
        _build_up_rhs,
        y0,
        ts,
        (model, b, solver),
        solver=diffrax.Tsit5() if ode_solver is None else ode_solver,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        throw=throw,
    )
    if bad is None:
        return traj
    result = diffrax.RESULTS.where(bad, diffrax.RESULTS.nonfinite_input, traj.result)
    ys = jnp.where(bad, jnp.nan, traj.ys)
    return Trajectory(traj.ts, ys, result, traj.num_steps)


def _build_up_rhs(t, k, args):
    # One module-level function, not a closure per call: odesolve's jit keys on the
    # function's identity, so a closure made in each build_up call would recompile on
    # every call (the solver travels in ``args`` instead of being closed over).
    model, b_ext, solver = args
    return model._polarization_rate(k, b_ext, solver)


def _check_model(model) -> AbstractDotModel:
    """The model, its fields as float arrays (:func:`float_fields`), or ``TypeError``."""
    if not isinstance(model, AbstractDotModel):
        raise TypeError(
            f"`model` must be a danon11 dot model (SingleDot, DoubleDot); got "
            f"{type(model).__name__}."
        )
    return float_fields(model)


def _check_count(value, name: str, minimum: int) -> int:
    return check_int(value, name, minimum)


def _check_tolerances(**tols) -> None:
    for name, value in tols.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        if not 0 < v < math.inf:
            raise ValueError(f"`{name}` must be a finite number > 0; got {value!r}.")


def _check_times(ts, dtype) -> Array:
    ts = jnp.asarray(ts, dtype)
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError(f"`ts` must be a non-empty 1-D array; got shape {ts.shape}.")
    return check_value(
        ts,
        lambda t: ~jnp.all(jnp.isfinite(t)) | jnp.any(jnp.diff(t) < 0),
        "`ts` must be finite and non-decreasing.",
    )


def _check_grid(grid_size, max_roots, xtol) -> None:
    _check_count(grid_size, "grid_size", 3)  # fewer nodes cannot bracket interior roots
    _check_count(max_roots, "max_roots", 1)
    _check_tolerances(xtol=xtol)


class FixedPoints(eqx.Module):
    """Zeros of ``d⟨K_z⟩/dt`` at one ``B_ext``, sorted, padded to ``max_roots``.

    - ``k_z``: ``(..., max_roots)`` positions (NaN where ``valid`` is False).
    - ``slope``: ``d/dk (d⟨K_z⟩/dt)`` at each root [1/time].
    - ``stable``: ``slope < 0``.
    - ``valid``: which entries are roots; ``count`` = their number.
    - ``truncated``: more than ``max_roots`` roots were bracketed on the grid; only the
      ``max_roots`` smallest are returned (raise ``max_roots``).
    """

    k_z: Float[Array, "... r"]
    slope: Float[Array, "... r"]
    stable: Bool[Array, "... r"]
    valid: Bool[Array, "... r"]
    truncated: Bool[Array, "..."]

    @property
    def count(self) -> Array:
        return jnp.sum(self.valid, axis=-1)


def _grid(model: AbstractDotModel, grid_size: int) -> Float[Array, " g"]:
    K = model.nuclear_spin
    return jnp.linspace(-K, K, grid_size, dtype=model.coupling.dtype)


@jit
def _analyse(model, b_ext, k_from, solver, grid_size, max_roots, xtol):
    """Fixed points at ``b_ext`` and the attractor reached from ``k_from`` (one compile
    serves :func:`fixed_points` and every step of :func:`follow_branch`)."""
    rate = lambda k: model._polarization_rate(k, b_ext, solver)
    K = model.nuclear_spin
    ks = _grid(model, grid_size)
    vals_all = jax.vmap(rate)(jnp.concatenate([ks, k_from[None]]))
    vals, f_from = vals_all[:-1], vals_all[-1]
    scale = jnp.max(jnp.abs(vals)) + jnp.finfo(vals.dtype).tiny
    tol = 1e-10 * scale
    sgn = jnp.where(jnp.abs(vals) <= tol, 0, jnp.sign(vals)).astype(jnp.int32)
    # Candidate slots in increasing k: node i at 2i, interval (i, i+1) at 2i + 1.
    slots = jnp.zeros(2 * grid_size - 1, bool)
    slots = slots.at[0::2].set(sgn == 0).at[1::2].set(sgn[:-1] * sgn[1:] == -1)
    (idx,) = jnp.nonzero(slots, size=max_roots, fill_value=0)
    num_candidates = jnp.sum(slots)
    valid = jnp.arange(max_roots) < num_candidates
    lo, hi = ks[idx // 2], ks[(idx + 1) // 2]
    bracket = (idx % 2 == 1) & valid
    # Orient each bracket so that the function increases through the root.
    orient = jnp.where(sgn[idx // 2] > 0, -1.0, 1.0) / scale

    def refine(lo, hi, orient, bracket):
        sol = optx.root_find(
            lambda k, args: orient * rate(k),
            optx.Bisection(rtol=0.0, atol=xtol, flip=False),
            0.5 * (lo + hi),
            options=dict(lower=lo, upper=jnp.where(bracket, hi, lo + 1.0)),
            throw=False,
            max_steps=256,
        )
        return jnp.where(bracket, sol.value, lo)

    roots = jax.vmap(refine)(lo, hi, orient, bracket)
    one = jnp.ones((), roots.dtype)
    slopes = jax.vmap(lambda k: jax.jvp(rate, (k,), (one,))[1])(roots)
    nan = jnp.asarray(jnp.nan, roots.dtype)
    fp = FixedPoints(
        jnp.where(valid, roots, nan),
        jnp.where(valid, slopes, nan),
        valid & (slopes < 0),
        valid,
        num_candidates > max_roots,
    )
    # In 1-D the flow from k_from moves monotonically to the nearest root in the
    # direction of sign F(k_from) (or stays, if F vanishes there).
    above = jnp.min(jnp.where(valid & (roots >= k_from), roots, jnp.inf))
    below = jnp.max(jnp.where(valid & (roots <= k_from), roots, -jnp.inf))
    up, down = jnp.minimum(above, K), jnp.maximum(below, -K)
    attractor = jnp.where(jnp.abs(f_from) <= tol, k_from, jnp.where(f_from > 0, up, down))
    return fp, attractor


def fixed_points(
    model: AbstractDotModel,
    b_ext: Scalar,
    *,
    solver: AbstractSteadyStateSolver = FEEDBACK_SOLVER,
    grid_size: int = 1025,
    max_roots: int = 8,
    xtol: float = 1e-13,
) -> FixedPoints:
    """All fixed points of ``d⟨K_z⟩/dt`` on ``[-K, K]`` at one ``B_ext`` and their stability.

    ``grid_size`` (static) points bracket the roots, ``optimistix.Bisection`` refines each
    to ``xtol`` in ``⟨K_z⟩``; at most ``max_roots`` (static) are returned, in increasing
    order (``truncated`` flags more); the slope ``dF/dk`` comes from forward-mode
    differentiation. One parameter point.

    Checks: ``grid_size`` an int >= 3 (fewer nodes cannot bracket an interior root),
    ``max_roots`` an int >= 1, ``xtol`` a float > 0 (``ValueError``); ``b_ext`` finite
    (``ValueError``, or ``eqx.error_if`` when traced).

    Example:
        >>> from jaxspin.danon11 import SingleDot, fixed_points
        >>> dot = SingleDot(0.2, 1.0, coupling=1.0, num_nuclei=100.0)
        >>> fp = fixed_points(dot, 0.5)
        >>> int(fp.count)
        1
    """
    model = _check_model(model)
    _check_grid(grid_size, max_roots, xtol)
    b = check_finite(jnp.asarray(b_ext, model.coupling.dtype), "b_ext")
    k = jnp.zeros((), b.dtype)
    return _analyse(model, b, k, solver, grid_size, max_roots, xtol)[0]


def follow_branch(
    model: AbstractDotModel,
    b_ext_path: Float[ArrayLike, " s"],
    k0: Scalar = 0.0,
    *,
    solver: AbstractSteadyStateSolver = FEEDBACK_SOLVER,
    grid_size: int = 1025,
    max_roots: int = 8,
    xtol: float = 1e-13,
    progress: bool = False,
) -> Float[Array, " s"]:
    """Steady ``⟨K_z⟩`` along an adiabatic sweep of ``B_ext`` through ``b_ext_path``,
    starting from ``k0`` (the flow settles before each step: sweep slower than the nuclear
    build-up time). Returns ``⟨K_z⟩`` after each step, shape ``(s,)``.

    Each step is one call of the compiled fixed-point analysis (a host loop: the steps
    depend on each other, and this re-uses :func:`fixed_points`' compilation). Host-side:
    ``b_ext_path`` must be concrete, non-empty, 1-D and finite, ``k0`` finite in
    ``[-K, K]``; ``grid_size``, ``max_roots``, ``xtol`` as in :func:`fixed_points`
    (``ValueError``).
    """
    model = _check_model(model)
    _check_grid(grid_size, max_roots, xtol)
    path = _check_path(b_ext_path, "b_ext_path")
    dtype = model.coupling.dtype
    k, _, _ = model._check_point(k0, 0.0, "b_ext", k_name="k0")
    out = []
    with Progress(len(path), "B_ext sweep", "fields", enabled=progress) as bar:
        for b in path:
            _, k = _analyse(model, jnp.asarray(b, dtype), k, solver, grid_size, max_roots, xtol)
            out.append(k)
            bar.update(1)
    return jnp.stack(out)


class Hysteresis(eqx.Module):
    """An up-and-down sweep: ``b_ext`` (increasing), ``up`` = ``⟨K_z⟩`` sweeping up from
    ``k0``, ``down`` = ``⟨K_z⟩`` sweeping back down from the end of the up sweep (aligned
    with ``b_ext``). Where ``up`` and ``down`` differ the system is bistable."""

    b_ext: Float[Array, " s"]
    up: Float[Array, " s"]
    down: Float[Array, " s"]


def _check_path(values, name: str) -> np.ndarray:
    path = np.asarray(values, dtype=float)
    if path.ndim != 1 or path.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D array; got shape {path.shape}.")
    if not np.all(np.isfinite(path)):
        raise ValueError(f"`{name}` contains NaN or inf.")
    return path


def hysteresis(
    model: AbstractDotModel,
    b_ext_values: Float[ArrayLike, " s"],
    k0: Scalar = 0.0,
    *,
    solver: AbstractSteadyStateSolver = FEEDBACK_SOLVER,
    grid_size: int = 1025,
    max_roots: int = 8,
    progress: bool = False,
) -> Hysteresis:
    """Sweep ``B_ext`` up through ``sorted(b_ext_values)`` from ``k0``, then back down.

    Checks as :func:`follow_branch` (``b_ext_values`` non-empty, 1-D, finite).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxspin.danon11 import DoubleDot, hysteresis
        >>> dd = DoubleDot(5.0, 0.5, 1.0, coupling=10.0, num_nuclei=10.0,
        ...                nuclear_relaxation=1e-3)
        >>> h = hysteresis(dd, jnp.linspace(4.0, 12.0, 9))
        >>> h.up.shape
        (9,)
    """
    b = np.sort(_check_path(b_ext_values, "b_ext_values"))
    kw = dict(solver=solver, grid_size=grid_size, max_roots=max_roots, progress=progress)
    up = follow_branch(model, b, k0, **kw)
    down = follow_branch(model, b[::-1], up[-1], **kw)[::-1]
    return Hysteresis(jnp.asarray(b, up.dtype), up, down)
