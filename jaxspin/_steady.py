"""Steady states and linear response of Lindblad master equations.

**Formulation.** For a trace-preserving generator ``L`` the steady state solves
``L(ρ) = 0, Tr ρ = 1``. jaxspin solves the single nonsingular system

    A x = e,    A = M + e tᵀ,   e = to_real(1/n),   t·x = Tr ρ,

in the real Hermitian coordinates of :mod:`jaxspin._liouvillian` (``M`` is ``L``'s real
matrix). Taking the trace of ``A x = e`` gives ``Tr ρ = 1`` and then ``L(ρ) = 0``; ``A`` is
invertible exactly when the steady state is unique, so a (numerically) singular ``A`` *is*
the diagnosis "not unique". The same ``A`` solves the linear-response problem
``L(x) = -s`` for a traceless source ``s``: ``A x = -s`` forces ``Tr x = 0`` and then
``L(x) = -s`` [Danon11, IMPLEMENTATION]. So one factorisation of ``A`` serves the steady
state and every response (:class:`LindbladFactorization`).

**Derivatives.** All solves go through ``lineax.linear_solve`` with the factorisation
passed as ``state``: forward and reverse derivatives are the implicit-function-theorem
ones, ``dρ = -A⁻¹ (dA) ρ``, computed with the same factors (a transposed solve for
reverse mode); nothing is differentiated through the elimination or iterations.

**Solvers** are small objects, not strings: :class:`DenseLU` (dense real LU; fast for many
small problems) and :class:`Iterative` (matrix-free Krylov solve for large ``n``).
"""

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Complex, Float

from ._batching import map_batched
from ._inputs import (
    as_operator,
    as_operators,
    as_real,
    check_finite,
    check_hermitian,
    check_nonnegative,
    is_concrete,
)
from ._linsolve import UnrolledLU, lineax_lu_matrix, pivot_ratio
from ._liouvillian import Lindbladian, from_real, to_real, trace_functional
from ._memory import check_fits


class RESULTS(eqx.Enumeration):
    """Outcome codes of steady-state and response solves (``throw=False`` returns them)."""

    successful = ""
    singular = (
        "The steady state is not unique (the Liouvillian has a degenerate zero eigenvalue) "
        "or the problem is numerically singular: a pivot of the augmented superoperator "
        "fell below rcond times its largest entry."
    )
    not_converged = "The iterative linear solver did not converge (max_steps or breakdown)."
    nonfinite = "The solution contains NaN or inf."
    source_not_traceless = (
        "A linear-response source must be traceless: L(x) = -s has no solution otherwise."
    )
    source_not_hermitian = "`hermitian=True` was promised, but the source is not Hermitian."


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------
class AbstractSteadyStateSolver(eqx.Module):
    """How the augmented system ``A x = b`` is factorised and solved."""

    @abc.abstractmethod
    def factorize(self, lindbladian: Lindbladian) -> "LindbladFactorization":
        """Factorise ``A`` for one Lindbladian (one parameter point)."""

    def bytes_per_problem(self, n: int) -> int:
        """Rough peak memory of one problem of dimension ``n`` [bytes]."""
        return 0


class DenseLU(AbstractSteadyStateSolver):
    """Dense LU of the real ``n² × n²`` augmented superoperator.

    For ``n² ≤ unroll_max`` (default 16: n ≤ 4) the elimination is
    :class:`jaxspin._linsolve.UnrolledLU` (vectorises across a batch: millions of small
    steady states per second; its compile time grows fast with ``n²``); above it
    LAPACK/cuSOLVER through ``lineax.LU``. A pivot smaller than ``rcond`` times the largest
    entry of ``A`` marks the steady state as not unique (``RESULTS.singular``). Memory per
    problem is about ``48 n⁴`` bytes; cost ``(2/3) n⁶`` flops.
    """

    unroll_max: int = eqx.field(static=True, default=16)
    rcond: float = eqx.field(static=True, default=1e-12)

    def bytes_per_problem(self, n: int) -> int:
        return 48 * n**4

    def factorize(self, lindbladian: Lindbladian) -> "LindbladFactorization":
        n = lindbladian.dim
        m = n * n
        M = lindbladian.real_superop()
        t = trace_functional(n, M.dtype)
        e = t / n
        A = M + jnp.outer(e, t)
        operator = lx.MatrixLinearOperator(A)
        solver = UnrolledLU() if m <= self.unroll_max else lx.LU()
        state = solver.init(jax.lax.stop_gradient(operator), {})
        lu = jax.lax.stop_gradient(lineax_lu_matrix(state))
        scale = jnp.max(jnp.abs(jax.lax.stop_gradient(A)))
        ok = pivot_ratio(lu, scale) > self.rcond
        result = RESULTS.where(ok, RESULTS.successful, RESULTS.singular)
        return LindbladFactorization(lindbladian, operator, solver, state, result)


class Iterative(AbstractSteadyStateSolver):
    """Matrix-free Krylov solve (``lineax.GMRES`` by default) for large ``n``.

    Each product applies ``L`` directly in O(k n³); nothing of size ``n⁴`` is formed.
    Convergence is to ``rtol``/``atol`` on the residual of ``A x = b``. Unlike
    :class:`DenseLU` it cannot certify uniqueness of the steady state (GMRES may converge
    on a singular consistent system): use DenseLU to check a model's uniqueness on a
    small instance.
    """

    rtol: float = eqx.field(static=True, default=1e-10)
    atol: float = eqx.field(static=True, default=1e-12)
    max_steps: int = eqx.field(static=True, default=10_000)
    restart: int = eqx.field(static=True, default=60)
    linear_solver: lx.AbstractLinearSolver | None = None

    def bytes_per_problem(self, n: int) -> int:
        return 8 * n * n * (self.restart + 10)

    def factorize(self, lindbladian: Lindbladian) -> "LindbladFactorization":
        n = lindbladian.dim
        dtype = jnp.real(lindbladian.H).dtype
        t = trace_functional(n, dtype)
        e = t / n

        def matvec(x):
            return to_real(lindbladian(from_real(x, n))) + e * jnp.dot(t, x)

        operator = lx.FunctionLinearOperator(matvec, jax.ShapeDtypeStruct((n * n,), dtype))
        solver = self.linear_solver
        if solver is None:
            solver = lx.GMRES(
                rtol=self.rtol, atol=self.atol, max_steps=self.max_steps, restart=self.restart
            )
        state = solver.init(operator, {})
        return LindbladFactorization(lindbladian, operator, solver, state, RESULTS.successful)


# --------------------------------------------------------------------------------------
# Factorisation, steady state, response
# --------------------------------------------------------------------------------------
class SteadyState(eqx.Module):
    """A steady state: density matrix ``rho`` (``(..., n, n)``) and its ``result`` code."""

    rho: Complex[Array, "... n n"]
    result: RESULTS

    def expect(self, op) -> Array:
        """``Tr(op ρ)`` (complex; take ``.real`` for Hermitian ``op``)."""
        op = as_operator(op, "op").astype(self.rho.dtype)
        return jnp.einsum("...ij,...ji->...", op, self.rho)


class LindbladFactorization(eqx.Module):
    """One factorisation of the augmented superoperator, re-used for the steady state and
    any number of linear-response solves (single parameter point)."""

    lindbladian: Lindbladian
    operator: lx.AbstractLinearOperator
    solver: lx.AbstractLinearSolver
    state: Any
    result: RESULTS

    def solve_real(self, b: Float[Array, " m"]) -> tuple[Float[Array, " m"], RESULTS]:
        """Solve ``A x = b`` in real coordinates; returns ``(x, result)``."""
        sol = lx.linear_solve(self.operator, b, self.solver, state=self.state, throw=False)
        # Precedence: a singular factorisation explains everything after it; otherwise a
        # non-finite solution, otherwise a solver failure (iterative: not converged).
        finite = jnp.all(jnp.isfinite(sol.value))
        failed = RESULTS.where(finite, RESULTS.not_converged, RESULTS.nonfinite)
        bad = (sol.result != lx.RESULTS.successful) | ~finite
        ok = self.result == RESULTS.successful
        result = RESULTS.where(ok & bad, failed, self.result)
        return sol.value, result

    @eqx.filter_jit
    def steadystate(self, *, throw: bool = True) -> SteadyState:
        """The unique steady state ``ρ`` (``L(ρ) = 0``, ``Tr ρ = 1``)."""
        n = self.lindbladian.dim
        x, result = self.solve_real(trace_functional(n, self.state_dtype) / n)
        rho = from_real(x, n)
        if throw:
            rho = result.error_if(rho, result != RESULTS.successful)
        return SteadyState(rho, result)

    @property
    def state_dtype(self):
        return jnp.real(self.lindbladian.H).dtype

    @eqx.filter_jit
    def response(
        self, source: Complex[Array, "n n"], *, hermitian: bool = False, throw: bool = True
    ) -> tuple[Complex[Array, "n n"], RESULTS]:
        """Solve ``L(x) = -source`` on the traceless subspace (``Tr x = 0``).

        ``source`` must be traceless (checked). A general complex ``source`` is split into
        Hermitian parts ``h1 + i h2`` and both are solved with the same factorisation;
        ``hermitian=True`` promises ``source = source†`` (checked) and halves the work.
        """
        n = self.lindbladian.dim
        s = jnp.asarray(source)
        if s.shape != (n, n):
            raise ValueError(f"`source` must have shape ({n}, {n}); got {s.shape}.")
        scale = jnp.max(jnp.abs(jax.lax.stop_gradient(s))) + jnp.finfo(self.state_dtype).tiny
        traceless = jnp.abs(jnp.trace(jax.lax.stop_gradient(s))) <= 1e-10 * n * scale
        if hermitian:
            dev = jnp.max(jnp.abs(jax.lax.stop_gradient(s - jnp.conj(s.T))))
            herm_ok = dev <= 1e-10 * scale
            x1, result = self.solve_real(-to_real(s))
            x = from_real(x1, n)
            result = RESULTS.where(herm_ok, result, RESULTS.source_not_hermitian)
        else:
            h1 = 0.5 * (s + jnp.conj(s.T))
            h2 = -0.5j * (s - jnp.conj(s.T))
            x1, r1 = self.solve_real(-to_real(h1))
            x2, r2 = self.solve_real(-to_real(h2))
            x = from_real(x1, n) + 1j * from_real(x2, n)
            result = RESULTS.where(r1 == RESULTS.successful, r2, r1)
        result = RESULTS.where(traceless, result, RESULTS.source_not_traceless)
        if throw:
            x = result.error_if(x, result != RESULTS.successful)
        return x, result


@eqx.filter_jit
def factorize(
    lindbladian: Lindbladian, solver: AbstractSteadyStateSolver = DenseLU()
) -> LindbladFactorization:
    """Factorise one Lindbladian for repeated solves (single problem; ``vmap`` to batch).

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> f = jaxspin.factorize(jaxspin.Lindbladian(sx, [sm]))
        >>> rho = f.steadystate().rho
        >>> chi, _ = f.response(1j * (rho @ sz - sz @ rho), hermitian=True)
    """
    return solver.factorize(lindbladian)


# --------------------------------------------------------------------------------------
# Batched public entry points
# --------------------------------------------------------------------------------------
def _prepare(H, jump_ops, rates):
    """Convert and validate (eagerly where the values are concrete)."""
    H = as_operator(H, "H")
    n = H.shape[-1]
    jumps = as_operators(jump_ops, "jump_ops", n)
    r = None if rates is None else as_real(rates, "rates", ndim_min=2)
    if r is not None and r.shape[-2:] != (n, n):
        raise ValueError(f"`rates` must have shape (..., {n}, {n}); got {r.shape}.")
    concrete = all(is_concrete(a) for a in (H, jumps, r) if a is not None)
    if concrete:
        check_hermitian(check_finite(H, "H"), "H")
        check_finite(jumps, "jump_ops")
        if r is not None:
            check_nonnegative(check_finite(r, "rates"), "rates")
    return H, jumps, r, n, concrete


def _memory_check(solver, n, bshape, block_size=256):
    import math

    count = min(math.prod(bshape) if bshape else 1, block_size)
    need = solver.bytes_per_problem(n) * count
    if need:
        check_fits(need, f"{type(solver).__name__} steady state (n = {n}, {count} at once)")


def _make_lindbladian(H, c, r, validate):
    # When the whole batch was validated eagerly, skip the per-point run-time checks.
    return Lindbladian(H, c, r, validate=validate)


@eqx.filter_jit
def _steadystate_jit(H, jumps, r, solver, throw, validate):
    def kernel(H, c, r):
        return factorize(_make_lindbladian(H, c, r, validate), solver).steadystate(throw=throw)

    return map_batched(kernel, [H, jumps, r], [2, 3, 2], ["H", "jump_ops", "rates"])


def steadystate(
    H,
    jump_ops=None,
    *,
    rates=None,
    solver: AbstractSteadyStateSolver = DenseLU(),
    throw: bool = True,
) -> SteadyState:
    """Unique steady state of ``dρ/dt = L(ρ)`` (see :class:`jaxspin.Lindbladian`).

    Arguments (leading batch dimensions broadcast against each other):

    - ``H``: ``(..., n, n)`` Hermitian Hamiltonian, angular-frequency units (ħ = 1).
    - ``jump_ops``: list of ``(..., n, n)`` jump operators, or an array ``(..., k, n, n)``.
    - ``rates``: ``(..., n, n)``, ``rates[j, i]`` = rate of ``|i⟩ → |j⟩`` (≥ 0).
    - ``solver``: :class:`DenseLU` (default) or :class:`Iterative`.
    - ``throw``: raise on failure (not unique, not converged, non-finite). With
      ``throw=False`` failed points carry a non-successful ``result`` instead, so one bad
      point does not stop a sweep.

    Returns a :class:`SteadyState` with ``rho`` (``(..., n, n)``) and ``result``.
    Differentiable (implicit differentiation, forward and reverse), jit- and vmap-safe.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> ss = jaxspin.steadystate(0.5 * sx, [jnp.sqrt(0.2) * sm])
        >>> round(float(jnp.trace(ss.rho).real), 12)
        1.0
    """
    H, jumps, r, n, concrete = _prepare(H, jump_ops, rates)
    bshape = jnp.broadcast_shapes(H.shape[:-2], jumps.shape[:-3], () if r is None else r.shape[:-2])
    _memory_check(solver, n, bshape)
    return _steadystate_jit(H, jumps, r, solver, throw, not concrete)


@eqx.filter_jit
def _response_jit(H, jumps, r, sources, solver, throw, hermitian, validate):
    def kernel(H, c, r, s):
        fact = factorize(_make_lindbladian(H, c, r, validate), solver)
        ss = fact.steadystate(throw=throw)
        src = sources(ss.rho) if callable(sources) else s
        xs, results = jax.vmap(lambda q: fact.response(q, hermitian=hermitian, throw=throw))(src)
        return ss, xs, results

    s_arr = None if callable(sources) else sources
    return map_batched(
        kernel, [H, jumps, r, s_arr], [2, 3, 2, 3], ["H", "jump_ops", "rates", "sources"]
    )


def linear_response(
    H,
    jump_ops=None,
    sources: Any = None,
    *,
    rates=None,
    solver: AbstractSteadyStateSolver = DenseLU(),
    hermitian: bool = False,
    throw: bool = True,
) -> tuple[SteadyState, Complex[Array, "... s n n"]]:
    """Steady state and the solutions ``x_s`` of ``L(x_s) = -source_s`` (``Tr x_s = 0``),
    all from one factorisation [Danon11, IMPLEMENTATION].

    ``sources`` is an array ``(..., s, n, n)`` of traceless operators, or a callable
    ``sources(rho) -> (s, n, n)`` that builds them from the steady state of one point (as
    Danon11's fluctuation sources ``[ρ0, S]_+ - 2 Tr(S ρ0) ρ0`` need). Other arguments as
    in :func:`steadystate`. Returns ``(SteadyState, responses)``.
    """
    H, jumps, r, n, concrete = _prepare(H, jump_ops, rates)
    if sources is None:
        raise ValueError("`sources` is required (an array (..., s, n, n) or a callable).")
    if not callable(sources):
        sources = as_operator(sources, "sources")
        if sources.ndim < 3 or sources.shape[-1] != n:
            raise ValueError(f"`sources` must have shape (..., s, {n}, {n}); got {sources.shape}.")
    shapes = [H.shape[:-2], jumps.shape[:-3]]
    if r is not None:
        shapes.append(r.shape[:-2])
    if not callable(sources):
        shapes.append(sources.shape[:-3])
    _memory_check(solver, n, jnp.broadcast_shapes(*shapes))
    ss, xs, _ = _response_jit(H, jumps, r, sources, solver, throw, hermitian, not concrete)
    return ss, xs
