"""Time evolution: density matrices, classical master equations, any ODE (via diffrax).

:func:`odesolve` is the one place where jaxspin configures diffrax (stiff-safe default
solver, adaptive steps, tolerances, saving); :func:`mesolve` and :func:`ratesolve` are
thin layers on it, and nuclear feedback dynamics call it directly. Gradients are exact
derivatives of the discretised solution (diffrax's recursive-checkpoint adjoint).

For linear, time-independent generators :func:`propagate` is exact (matrix exponential)
and has no step-size error at all: use it for piecewise-constant protocols.
"""

from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from ._inputs import as_operator, as_real, check_finite, complex_dtype
from ._liouvillian import Lindbladian, from_real, to_real
from ._ratematrix import generator


class Trajectory(eqx.Module):
    """Saved states ``ys`` (leading axis: ``ts``) of a time evolution and its result code
    (``diffrax.RESULTS``; ``throw=False`` keeps failures as data)."""

    ts: Float[Array, " T"]
    ys: PyTree[Array]
    result: diffrax.RESULTS
    num_steps: Array


def odesolve(
    rhs: Callable[[Any, Any, Any], Any],
    y0: PyTree[Array],
    ts: Float[Array, " T"],
    args: Any = None,
    *,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    dt0: float | None = None,
    max_steps: int = 100_000,
    adjoint: diffrax.AbstractAdjoint | None = None,
    throw: bool = True,
) -> Trajectory:
    """Integrate ``dy/dt = rhs(t, y, args)`` from ``ts[0]`` and save at every ``ts``.

    Default solver: ``diffrax.Kvaerno5()`` (L-stable implicit Runge-Kutta: the electron
    and nuclear time scales of hyperfine problems differ by many orders of magnitude) with a
    PID step-size controller at ``rtol``/``atol``. Pass ``solver=diffrax.Tsit5()`` for
    non-stiff problems. Works under ``jit``, ``vmap`` and ``grad``.

    ``adjoint``: how reverse-mode derivatives are taken; default diffrax's
    ``RecursiveCheckpointAdjoint`` (exact derivative of the discretised solution, bounded
    memory). It does not support second derivatives: for exact Hessians (e.g.
    ``jaxspin.fit(..., hessian=True)`` through an ODE) pass ``diffrax.DirectAdjoint()``.
    """
    ts = jnp.asarray(ts)
    if ts.ndim != 1 or ts.shape[0] < 1:
        raise ValueError(f"`ts` must be a non-empty 1-D array; got shape {ts.shape}.")
    solver = diffrax.Kvaerno5() if solver is None else solver
    term = diffrax.ODETerm(rhs)
    sol = diffrax.diffeqsolve(
        term,
        solver,
        t0=ts[0],
        t1=ts[-1],
        dt0=dt0,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
        throw=throw,
    )
    return Trajectory(ts, sol.ys, sol.result, sol.stats["num_steps"])


def mesolve(
    H,
    jump_ops=None,
    rho0=None,
    ts=None,
    *,
    rates=None,
    dense: bool | None = None,
    **kwargs,
) -> Trajectory:
    """Evolve a density matrix under ``dρ/dt = L(ρ)`` (one problem; ``vmap`` to batch).

    The state is evolved in the real Hermitian coordinates of
    :mod:`jaxspin._liouvillian`; ``dense`` (default: ``n ≤ 16``) uses the real ``n² × n²``
    superoperator, otherwise the map is applied matrix-free in O(k n³) per evaluation.
    Returns a :class:`Trajectory` whose ``ys`` are density matrices ``(T, n, n)``. Other
    keyword arguments go to :func:`odesolve`.
    """
    if rho0 is None or ts is None:
        raise ValueError("`rho0` and `ts` are required.")
    lind = Lindbladian(H, jump_ops, rates)
    n = lind.dim
    rho0 = check_finite(as_operator(rho0, "rho0"), "rho0")
    if rho0.shape != (n, n):
        raise ValueError(f"`rho0` must have shape ({n}, {n}); got {rho0.shape}.")
    dense = n <= 16 if dense is None else dense
    if dense:
        M = lind.real_superop()
        rhs = lambda t, x, args: M @ x
    else:
        rhs = lambda t, x, args: to_real(lind(from_real(x, n)))
    traj = odesolve(rhs, to_real(rho0), ts, **kwargs)
    rhos = jax.vmap(lambda x: from_real(x, n))(traj.ys)
    return Trajectory(traj.ts, rhos.astype(complex_dtype()), traj.result, traj.num_steps)


def ratesolve(W, p0, ts, **kwargs) -> Trajectory:
    """Evolve probabilities under ``dp/dt = G(W) p`` (``W[j, i]`` = rate ``i → j``).
    One problem; keyword arguments go to :func:`odesolve`."""
    W = as_real(W, "W", ndim_min=2)
    p0 = as_real(p0, "p0", ndim_min=1)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or p0.shape != (W.shape[0],):
        raise ValueError(f"`W` must be (n, n) and `p0` (n,); got {W.shape} and {p0.shape}.")
    G = generator(W)
    return odesolve(lambda t, p, args: G @ p, p0, ts, **kwargs)


@eqx.filter_jit
def propagate(
    A: Float[Array, "m m"], y0: Float[Array, " m"], ts: Float[Array, " T"]
) -> Float[Array, "T m"]:
    """Exact solution ``y(t) = expm(A (t - ts[0])) y0`` of a linear time-independent ODE at
    every ``ts`` (one problem). ``A`` may be any real or complex square matrix, e.g.
    ``generator(W)`` or ``Lindbladian.real_superop()``."""
    ts = jnp.asarray(ts)
    expms = jax.vmap(lambda t: jax.scipy.linalg.expm(A * (t - ts[0]).astype(A.dtype)))(ts)
    return jnp.einsum("tij,j->ti", expms, y0.astype(A.dtype))
