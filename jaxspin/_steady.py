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

**Bad input and failures.** Inputs are checked once, at the public entry point: shapes
eagerly (``ValueError`` naming the argument), values eagerly when concrete and as
``equinox.error_if`` when traced. With ``throw=False`` nothing is raised for a value: a
point whose ``H``/``jump_ops``/``rates`` are bad comes back with ``RESULTS.invalid_input``
and NaN ``rho`` (and responses), the other points of the batch are untouched; a solver
failure comes back as its :class:`RESULTS` code.
"""

import abc
import functools as ft
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, Bool, Complex, Float

from ._batching import batch_shape, batched_nbytes, map_batched
from ._checks import filter_jit, result_error_if
from ._inputs import (
    as_operator,
    as_operators,
    as_real,
    bad_input,
    check_finite,
    check_hermitian,
    check_nonnegative,
    is_concrete,
)
from ._linsolve import UnrolledLU, lineax_lu_matrix, pivot_ratio
from ._liouvillian import Lindbladian, from_real, to_real, trace_functional
from ._memory import check_fits
from ._qutip import qutip_dims


class RESULTS(eqx.Enumeration):
    """Outcome codes of steady-state and response solves (``throw=False`` returns them)."""

    successful = ""
    singular = (
        "The steady state is not unique (the Liouvillian has a degenerate zero eigenvalue) "
        "or the problem is numerically singular. DenseLU: a pivot of the augmented "
        "superoperator fell below rcond times its largest entry. Iterative: two solves from "
        "different initial guesses disagreed by more than check_rtol relative to max|rho| "
        "(proof that the computed solution is not determined to that tolerance; agreement "
        "is strong evidence of uniqueness, not a proof)."
    )
    not_converged = (
        "The iterative linear solver did not converge (max_steps, breakdown or stagnation), "
        "or its answer failed the residual check ||L(rho)|| <= check_rtol * ||L|| * ||rho||, "
        "|Tr rho - 1| <= check_rtol."
    )
    nonfinite = "The solution contains NaN or inf."
    source_not_traceless = (
        "A linear-response source must be traceless: L(x) = -s has no solution otherwise."
    )
    source_not_hermitian = "`hermitian=True` was promised, but the source is not Hermitian."
    invalid_input = (
        "Invalid input at this point: `H`, `jump_ops` or `rates` contain NaN or inf, `H` is "
        "not Hermitian (to 1e-10 of its largest entry) or `rates` has a negative entry. "
        "Its rho and responses are NaN."
    )
    source_nonfinite = (
        "A linear-response source (`source` / `sources`) contains NaN or inf; its response is NaN."
    )


def _check_bool(x, name: str) -> bool:
    if not isinstance(x, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False; got {x!r}.")
    return bool(x)


def _check_solver(solver) -> None:
    if not isinstance(solver, AbstractSteadyStateSolver):
        raise TypeError(
            "`solver` must be a jaxspin steady-state solver (jaxspin.DenseLU() or "
            f"jaxspin.Iterative()); got {type(solver).__name__}."
        )


def _check_number(x, name: str, *, low: float, strict: bool = False) -> None:
    """Eager check of a static (Python) number field: finite and ``> low``/``>= low``."""
    ok = isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)
    ok = ok and math.isfinite(x) and (x > low if strict else x >= low)
    if not ok:
        rel = ">" if strict else ">="
        raise ValueError(f"`{name}` must be a finite number {rel} {low:g}; got {x!r}.")


def _check_int(x, name: str, *, low: int) -> None:
    if isinstance(x, bool) or not isinstance(x, int | np.integer) or x < low:
        raise ValueError(f"`{name}` must be an int >= {low}; got {x!r}.")


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
    problem is about ``48 n⁴`` bytes (refused first, :class:`jaxspin.MemoryBudgetError`,
    when that does not fit); cost ``(2/3) n⁶`` flops. ``unroll_max`` must be an int
    ``>= 0``, ``rcond`` a finite number ``>= 0`` (``ValueError``).
    """

    unroll_max: int = eqx.field(static=True, default=16)
    rcond: float = eqx.field(static=True, default=1e-12)

    def __check_init__(self):
        _check_int(self.unroll_max, "DenseLU.unroll_max", low=0)
        _check_number(self.rcond, "DenseLU.rcond", low=0.0)

    def bytes_per_problem(self, n: int) -> int:
        return 48 * n**4

    def factorize(self, lindbladian: Lindbladian) -> "LindbladFactorization":
        n = lindbladian.dim
        check_fits(self.bytes_per_problem(n), f"DenseLU factorisation (n = {n})")
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


@ft.lru_cache(maxsize=64)
def _probe_direction(n: int) -> np.ndarray:
    """A fixed pseudo-random traceless direction in the real coordinates, max entry 1."""
    t = np.zeros(n * n)
    t[:n] = 1.0  # the trace functional (numpy: a static constant)
    d = np.random.default_rng(20240516 + n).normal(size=n * n)
    d = d - t * (t @ d) / n
    scale = np.max(np.abs(d))
    return d / scale if scale > 0 else d


def _augmented_operator(lindbladian: Lindbladian, t, e) -> lx.FunctionLinearOperator:
    n = lindbladian.dim

    def matvec(x):
        return to_real(lindbladian(from_real(x, n))) + e * jnp.dot(t, x)

    return lx.FunctionLinearOperator(matvec, jax.ShapeDtypeStruct((n * n,), t.dtype))


def _norm_bound(lindbladian: Lindbladian) -> Float[Array, ""]:
    """An upper bound on the Hilbert-Schmidt operator norm of ``L``:
    ``2‖H‖_F + 2 Σ_k ‖c_k‖_F² + 2 Σ_ij rates_ij``."""
    fro2 = lambda a: jnp.sum(jnp.abs(a) ** 2)
    h = 2 * jnp.sqrt(fro2(lindbladian.H))
    c = 2 * fro2(lindbladian.jump_ops)
    return h + c + 2 * jnp.sum(lindbladian.rates)


def _solve_failure(sol: lx.Solution) -> tuple[Bool[Array, ""], RESULTS]:
    """``(failed, code)`` of one lineax solve: non-finite beats not converged."""
    finite = jnp.all(jnp.isfinite(sol.value))
    failed = (sol.result != lx.RESULTS.successful) | ~finite
    return failed, RESULTS.where(finite, RESULTS.not_converged, RESULTS.nonfinite)


class Iterative(AbstractSteadyStateSolver):
    """Matrix-free Krylov solve (``lineax.GMRES`` by default) for large ``n``.

    Each product applies ``L`` directly in O(k n³); nothing of size ``n⁴`` is formed.
    Convergence is to ``rtol``/``atol`` on the residual of ``A x = b``.

    **Uniqueness check** (``check_unique=True``, the default; it about doubles the cost of
    :func:`jaxspin.factorize` / the steady state). A Krylov solver converges on the
    singular but consistent system of a non-unique steady state and reports success, so
    the steady state is solved twice: from zero and from ``x₁ + δ`` (``δ`` a fixed
    pseudo-random traceless direction scaled to ``max|x₁|``). If the steady state is
    unique both runs converge to the same ``x``; if ``L`` has more than one steady state
    the second keeps the component of ``δ`` in the kernel. They must agree to
    ``check_rtol`` relative to ``max|x₁|`` (else ``RESULTS.singular``), and ``x₁`` must
    pass a residual check, ``‖L(ρ)‖_F ≤ check_rtol ‖L‖ ‖ρ‖_F`` (``‖L‖`` the bound
    ``2‖H‖_F + 2Σ‖c_k‖_F² + 2Σ rates``) and ``|Tr ρ - 1| ≤ check_rtol`` (else
    ``RESULTS.not_converged``). What it certifies: a flagged system *is* non-unique or
    ill-conditioned at that tolerance (two valid solutions differ). What it cannot: a
    pass is not a proof of uniqueness (a kernel direction orthogonal to the fixed ``δ``
    would be missed; generically impossible, not excluded), and a system whose second
    steady state differs by less than ``check_rtol`` passes. The result code of the
    factorisation carries the verdict to every response solve. ``check_rtol=None``
    means ``1e4 × rtol`` (``1e-6`` by default); keep it well above ``rtol``.

    Field checks (``ValueError``): ``rtol``, ``atol`` finite ``>= 0``; ``max_steps``,
    ``restart`` ints ``>= 1``; ``check_rtol`` ``None`` or finite ``> 0``;
    ``linear_solver`` ``None`` or a ``lineax`` solver accepting ``options={"y0": ...}``.
    """

    rtol: float = eqx.field(static=True, default=1e-10)
    atol: float = eqx.field(static=True, default=1e-12)
    max_steps: int = eqx.field(static=True, default=10_000)
    restart: int = eqx.field(static=True, default=60)
    linear_solver: lx.AbstractLinearSolver | None = None
    check_unique: bool = eqx.field(static=True, default=True)
    check_rtol: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        _check_number(self.rtol, "Iterative.rtol", low=0.0)
        _check_number(self.atol, "Iterative.atol", low=0.0)
        _check_int(self.max_steps, "Iterative.max_steps", low=1)
        _check_int(self.restart, "Iterative.restart", low=1)
        _check_bool(self.check_unique, "Iterative.check_unique")
        if self.check_rtol is not None:
            _check_number(self.check_rtol, "Iterative.check_rtol", low=0.0, strict=True)
        if self.linear_solver is not None and not isinstance(
            self.linear_solver, lx.AbstractLinearSolver
        ):
            raise TypeError(
                "`Iterative.linear_solver` must be a lineax solver or None; got "
                f"{type(self.linear_solver).__name__}."
            )

    def bytes_per_problem(self, n: int) -> int:
        return 8 * n * n * (self.restart + 10)

    def _solver(self) -> lx.AbstractLinearSolver:
        if self.linear_solver is not None:
            return self.linear_solver
        return lx.GMRES(
            rtol=self.rtol, atol=self.atol, max_steps=self.max_steps, restart=self.restart
        )

    def factorize(self, lindbladian: Lindbladian) -> "LindbladFactorization":
        n = lindbladian.dim
        t = trace_functional(n, jnp.real(lindbladian.H).dtype)
        e = t / n
        operator = _augmented_operator(lindbladian, t, e)
        solver = self._solver()
        # the state carries no tangents (lineax differentiates through `operator` alone)
        state = solver.init(_augmented_operator(jax.lax.stop_gradient(lindbladian), t, e), {})
        if not self.check_unique:
            return LindbladFactorization(lindbladian, operator, solver, state, RESULTS.successful)
        sol = lx.linear_solve(operator, e, solver, state=state, throw=False)
        failed, code = _solve_failure(sol)
        verdict = self._check(jax.lax.stop_gradient(lindbladian), jax.lax.stop_gradient(sol.value))
        result = RESULTS.where(failed, code, verdict)
        return LindbladFactorization(
            lindbladian, operator, solver, state, result, steady_real=sol.value
        )

    def _check(self, lindbladian: Lindbladian, x: Float[Array, " m"]) -> RESULTS:
        """The verdict on a converged steady state ``x`` (see the class docstring)."""
        n = lindbladian.dim
        tol = 1e4 * self.rtol if self.check_rtol is None else self.check_rtol
        t = trace_functional(n, x.dtype)
        e = t / n
        operator = _augmented_operator(lindbladian, t, e)
        solver = self._solver()
        xmax = jnp.max(jnp.abs(x))
        y0 = x + jnp.asarray(_probe_direction(n), x.dtype) * xmax
        sol = lx.linear_solve(
            operator, e, solver, state=solver.init(operator, {}), options={"y0": y0}, throw=False
        )
        failed, _ = _solve_failure(sol)
        differ = jnp.max(jnp.abs(sol.value - x)) > tol * xmax
        residual = jnp.linalg.norm(to_real(lindbladian(from_real(x, n))))
        bad_residual = (residual > tol * _norm_bound(lindbladian) * jnp.linalg.norm(x)) | (
            jnp.abs(jnp.dot(t, x) - 1) > tol
        )
        result = RESULTS.where(differ, RESULTS.singular, RESULTS.successful)
        return RESULTS.where(failed | bad_residual, RESULTS.not_converged, result)


# --------------------------------------------------------------------------------------
# Factorisation, steady state, response
# --------------------------------------------------------------------------------------
class SteadyState(eqx.Module):
    """A steady state: density matrix ``rho`` (``(..., n, n)``) and its ``result`` code;
    ``dims``: the QuTiP ``dims`` of a ``Qobj`` ``H`` (else None; :func:`jaxspin.to_qutip`)."""

    rho: Complex[Array, "... n n"]
    result: RESULTS
    dims: Any = eqx.field(static=True, default=None)

    def expect(self, op) -> Array:
        """``Tr(op ρ)`` (complex; take ``.real`` for Hermitian ``op``). ``op`` is
        ``(..., n, n)`` with the dimension of ``rho`` (``ValueError`` otherwise); batch
        dimensions broadcast."""
        op = as_operator(op, "op").astype(self.rho.dtype)
        n = self.rho.shape[-1]
        if op.shape[-1] != n:
            raise ValueError(f"`op` acts on dimension {op.shape[-1]}; `rho` on {n}.")
        return jnp.einsum("...ij,...ji->...", op, self.rho)


class LindbladFactorization(eqx.Module):
    """One factorisation of the augmented superoperator, re-used for the steady state and
    any number of linear-response solves (single parameter point).

    ``result`` is the verdict on the factorisation (``singular``, ``invalid_input``, ...);
    every solve inherits it. ``steady_real`` is the steady state in real coordinates when
    the solver computed it already (:class:`Iterative`'s uniqueness check), else ``None``.
    """

    lindbladian: Lindbladian
    operator: lx.AbstractLinearOperator
    solver: lx.AbstractLinearSolver
    state: Any
    result: RESULTS
    steady_real: Float[Array, " m"] | None = None

    def solve_real(self, b: Float[Array, " m"]) -> tuple[Float[Array, " m"], RESULTS]:
        """Solve ``A x = b`` in real coordinates; returns ``(x, result)``."""
        sol = lx.linear_solve(self.operator, b, self.solver, state=self.state, throw=False)
        # Precedence: a singular factorisation explains everything after it; otherwise a
        # non-finite solution, otherwise a solver failure (iterative: not converged).
        failed, code = _solve_failure(sol)
        ok = self.result == RESULTS.successful
        result = RESULTS.where(ok & failed, code, self.result)
        return sol.value, result

    @filter_jit
    def steadystate(self, *, throw: bool = True) -> SteadyState:
        """The unique steady state ``ρ`` (``L(ρ) = 0``, ``Tr ρ = 1``).

        ``throw=True`` raises (``equinox`` runtime error with the :class:`RESULTS` text)
        unless the result is ``successful``; ``throw=False`` returns the code, with NaN
        ``rho`` for ``invalid_input``."""
        throw = _check_bool(throw, "throw")
        n = self.lindbladian.dim
        if self.steady_real is not None:
            x, result = self.steady_real, self.result
        else:
            x, result = self.solve_real(trace_functional(n, self.state_dtype) / n)
        rho = from_real(x, n)
        rho = jnp.where(result == RESULTS.invalid_input, jnp.nan, rho)
        if throw:
            rho = result_error_if(rho, result, result != RESULTS.successful)
        return SteadyState(rho, result)

    @property
    def state_dtype(self):
        return jnp.real(self.lindbladian.H).dtype

    @filter_jit
    def response(
        self, source: Complex[Array, "n n"], *, hermitian: bool = False, throw: bool = True
    ) -> tuple[Complex[Array, "n n"], RESULTS]:
        """Solve ``L(x) = -source`` on the traceless subspace (``Tr x = 0``).

        ``source`` must be ``(n, n)`` (``ValueError``), finite (``source_nonfinite``) and
        traceless to ``1e-10 n max|source|`` (``source_not_traceless``). A general complex
        ``source`` is split into Hermitian parts ``h1 + i h2`` and both are solved with the
        same factorisation; ``hermitian=True`` promises ``source = source†`` (checked to
        ``1e-10 max|source|``, ``source_not_hermitian``) and halves the work.
        ``throw=True`` raises on any non-successful result; ``throw=False`` returns it,
        with NaN ``x`` for a bad source or an ``invalid_input`` point.
        """
        throw = _check_bool(throw, "throw")
        hermitian = _check_bool(hermitian, "hermitian")
        n = self.lindbladian.dim
        s = jnp.asarray(source)
        if s.shape != (n, n):
            raise ValueError(f"`source` must have shape ({n}, {n}); got {s.shape}.")
        nonfinite = bad_input(jax.lax.stop_gradient(s))
        s = jnp.where(nonfinite, jnp.zeros_like(s), s)
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
        result = RESULTS.where(nonfinite, RESULTS.source_nonfinite, result)
        invalid = self.result == RESULTS.invalid_input
        result = RESULTS.where(invalid, RESULTS.invalid_input, result)
        bad_source = invalid | nonfinite | ~traceless | (result == RESULTS.source_not_hermitian)
        x = jnp.where(bad_source, jnp.nan, x)
        if throw:
            x = result_error_if(x, result, result != RESULTS.successful)
        return x, result


@filter_jit
def factorize(
    lindbladian: Lindbladian, solver: AbstractSteadyStateSolver = DenseLU()
) -> LindbladFactorization:
    """Factorise one Lindbladian for repeated solves (single problem; ``vmap`` to batch).

    ``lindbladian`` must be a :class:`jaxspin.Lindbladian` (its construction validated the
    values) and ``solver`` a steady-state solver (``TypeError`` otherwise). The
    factorisation's ``result`` says whether the steady state is unique (``singular``
    otherwise; :class:`Iterative` also solves the steady state here, see its check).

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> f = jaxspin.factorize(jaxspin.Lindbladian(sx, [sm]))
        >>> rho = f.steadystate().rho
        >>> chi, _ = f.response(1j * (rho @ sz - sz @ rho), hermitian=True)
    """
    if not isinstance(lindbladian, Lindbladian):
        shape = getattr(lindbladian, "shape", None)
        got = type(lindbladian).__name__ if shape is None else f"an array of shape {shape}"
        raise TypeError(f"`lindbladian` must be a jaxspin.Lindbladian; got {got}.")
    _check_solver(solver)
    return solver.factorize(lindbladian)


# --------------------------------------------------------------------------------------
# Batched public entry points
# --------------------------------------------------------------------------------------
_NAMES = ["H", "jump_ops", "rates"]


def _convert(H, jump_ops, rates):
    """Convert and check shapes (eager ``ValueError`` naming the argument)."""
    H = as_operator(H, "H")
    n = H.shape[-1]
    if n == 0:
        raise ValueError(f"`H` has shape {H.shape}: the Hilbert-space dimension must be >= 1.")
    jumps = as_operators(jump_ops, "jump_ops", n)
    r = None if rates is None else as_real(rates, "rates", ndim_min=2)
    if r is not None and r.shape[-2:] != (n, n):
        raise ValueError(f"`rates` must have shape (..., {n}, {n}); got {r.shape}.")
    return H, jumps, r, n


def _validate(H, jumps, r) -> bool:
    """Eager value checks when every input is concrete; returns whether they ran."""
    concrete = all(is_concrete(a) for a in (H, jumps, r) if a is not None)
    if concrete:
        check_hermitian(check_finite(H, "H"), "H")
        check_finite(jumps, "jump_ops")
        if r is not None:
            check_nonnegative(check_finite(r, "rates"), "rates")
    return concrete


def _prepare(H, jump_ops, rates, *, throw: bool = True):
    """Convert, check shapes, and (``throw=True``) check values eagerly where concrete.

    Returns ``(H, jumps, rates, n, concrete)``; ``concrete`` is whether the values were
    checked here (the kernels then skip their run-time checks)."""
    H, jumps, r, n = _convert(H, jump_ops, rates)
    concrete = _validate(H, jumps, r) if throw else False
    return H, jumps, r, n, concrete


def _memory_check(solver, n, bshape, block_size=256, *, extra_bytes: int = 0):
    """Refuse before any work when a batched solve cannot fit: one block of solver work
    (``bytes_per_problem × min(size, block_size)``), every point's ``rho`` and result,
    plus ``extra_bytes`` (broadcast inputs, responses)."""
    size = math.prod(bshape)
    count = min(size, block_size)
    need = solver.bytes_per_problem(n) * count + size * (16 * n * n + 8) + extra_bytes
    check_fits(
        need,
        f"{type(solver).__name__} steady state (n = {n}, {size} point(s), {count} at once)",
    )


def _guard(H, c, r):
    """For ``throw=False``: ``(H, c, r, bad)`` with a bad point (:func:`bad_input`: NaN/inf,
    non-Hermitian ``H``, negative ``rates``) replaced by a benign, uniquely solvable system
    (``H = 0``, no jumps, all rates 1) so that its solve stays finite and cheap."""
    n = H.shape[-1]
    bad = bad_input(H, hermitian=True) | bad_input(c)
    if r is not None:
        bad = bad | bad_input(r, nonnegative=True)
    base = jnp.zeros((n, n), jnp.real(H).dtype) if r is None else r
    H = jnp.where(bad, jnp.zeros_like(H), H)
    c = jnp.where(bad, jnp.zeros_like(c), c)
    r = jnp.where(bad, jnp.ones_like(base), base)
    return H, c, r, bad


def _factorize_point(H, c, r, solver, *, throw: bool, validate: bool) -> LindbladFactorization:
    """One point's factorisation, for the batched kernels. ``throw=True``: bad values raise
    (``validate``: stage ``eqx.error_if`` checks; ``False`` when the batch was checked
    eagerly). ``throw=False``: a bad point gets ``RESULTS.invalid_input`` (and NaN rho)."""
    if throw:
        return factorize(Lindbladian(H, c, r, validate=validate), solver)
    H, c, r, bad = _guard(H, c, r)
    fact = factorize(Lindbladian(H, c, r, validate=False), solver)
    result = RESULTS.where(bad, RESULTS.invalid_input, fact.result)
    return eqx.tree_at(lambda f: f.result, fact, result)


@filter_jit
def _steadystate_jit(H, jumps, r, solver, throw, validate):
    def kernel(H, c, r):
        fact = _factorize_point(H, c, r, solver, throw=throw, validate=validate)
        return fact.steadystate(throw=throw)

    return map_batched(kernel, [H, jumps, r], [2, 3, 2], _NAMES)


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
    - ``rates``: ``(..., n, n)``, ``rates[j, i]`` = rate of ``|i⟩ → |j⟩`` (≥ 0, same
      units as ``H``).
    - ``solver``: :class:`DenseLU` (default) or :class:`Iterative`.
    - ``throw``: raise on failure (not unique, not converged, non-finite). With
      ``throw=False`` failed points carry a non-successful ``result`` instead, so one bad
      point does not stop a sweep.

    Checks: shapes and dimensions (``n >= 1``; non-empty, broadcasting batch dimensions)
    raise ``ValueError`` naming the argument; a batch whose inputs, outputs and solver
    work would not fit in memory raises :class:`jaxspin.MemoryBudgetError` before any
    work. Values (finite ``H``/``jump_ops``/``rates``, Hermitian ``H`` to 1e-10 of its
    largest entry, ``rates >= 0``): ``throw=True`` raises (``ValueError`` for concrete
    input, an ``equinox`` runtime error under ``jit``/``vmap``); ``throw=False`` marks
    that point ``RESULTS.invalid_input`` with NaN ``rho``, the rest of the batch as usual.

    Returns a :class:`SteadyState` with ``rho`` (``(..., n, n)``) and ``result``.
    Differentiable (implicit differentiation, forward and reverse), jit- and vmap-safe.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> ss = jaxspin.steadystate(0.5 * sx, [jnp.sqrt(0.2) * sm])
        >>> round(float(jnp.trace(ss.rho).real), 12)
        1.0
    """
    _check_solver(solver)
    throw = _check_bool(throw, "throw")
    H_in = H
    H, jumps, r, n = _convert(H, jump_ops, rates)
    args = [H, jumps, r]
    bshape = batch_shape(args, [2, 3, 2], _NAMES)
    _memory_check(solver, n, bshape, extra_bytes=batched_nbytes(args, [2, 3, 2], bshape))
    concrete = _validate(H, jumps, r) if throw else False
    ss = _steadystate_jit(H, jumps, r, solver, throw, not concrete)
    return SteadyState(ss.rho, ss.result, qutip_dims(H_in))


@filter_jit
def _response_jit(H, jumps, r, sources, solver, throw, hermitian, validate):
    def kernel(H, c, r, s):
        fact = _factorize_point(H, c, r, solver, throw=throw, validate=validate)
        ss = fact.steadystate(throw=throw)
        src = sources(ss.rho) if callable(sources) else s
        xs, results = jax.vmap(lambda q: fact.response(q, hermitian=hermitian, throw=throw))(src)
        # the point's code: the steady state's, else the first failed response's
        first = jnp.argmax(results != RESULTS.successful)
        worst = jax.tree_util.tree_map(lambda v: v[first], results)
        result = RESULTS.where(ss.result == RESULTS.successful, worst, ss.result)
        return SteadyState(ss.rho, result), xs

    s_arr = None if callable(sources) else sources
    return map_batched(kernel, [H, jumps, r, s_arr], [2, 3, 2, 3], _NAMES + ["sources"])


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

    Checks as in :func:`steadystate`, plus: ``sources`` shape (``ValueError``, also the
    output shape of a callable, found with ``jax.eval_shape``); a concrete ``sources``
    array with NaN/inf is refused eagerly with ``throw=True``. Per source (traced or not):
    finite, traceless, Hermitian when ``hermitian=True``; ``throw=True`` raises,
    ``throw=False`` gives NaN for that response and the point's ``result`` is the first
    failure of its steady state and responses (``source_nonfinite``,
    ``source_not_traceless``, ``source_not_hermitian``, ``invalid_input``, ...).
    """
    _check_solver(solver)
    throw = _check_bool(throw, "throw")
    hermitian = _check_bool(hermitian, "hermitian")
    H_in = H
    H, jumps, r, n = _convert(H, jump_ops, rates)
    if sources is None:
        raise ValueError("`sources` is required (an array (..., s, n, n) or a callable).")
    if callable(sources):
        rho_struct = jax.ShapeDtypeStruct((n, n), H.dtype)
        out = jax.eval_shape(sources, rho_struct)
        if not hasattr(out, "shape") or len(out.shape) != 3 or out.shape[-2:] != (n, n):
            got = getattr(out, "shape", type(out).__name__)
            raise ValueError(
                f"`sources(rho)` must return an array of shape (s, {n}, {n}); got {got}."
            )
        num_sources = out.shape[0]
        s_arr = None
    else:
        sources = as_operator(sources, "sources")
        if sources.ndim < 3 or sources.shape[-1] != n:
            raise ValueError(f"`sources` must have shape (..., s, {n}, {n}); got {sources.shape}.")
        num_sources = sources.shape[-3]
        s_arr = sources
    if num_sources == 0:
        raise ValueError("`sources` holds no source (s = 0): nothing to solve.")
    args = [H, jumps, r, s_arr]
    bshape = batch_shape(args, [2, 3, 2, 3], _NAMES + ["sources"])
    size = math.prod(bshape)
    extra = batched_nbytes(args, [2, 3, 2, 3], bshape) + size * num_sources * (16 * n * n + 8)
    _memory_check(solver, n, bshape, extra_bytes=extra)
    concrete = _validate(H, jumps, r) if throw else False
    if throw and s_arr is not None and is_concrete(s_arr):
        sources = check_finite(s_arr, "sources")
    ss, xs = _response_jit(H, jumps, r, sources, solver, throw, hermitian, not concrete)
    return SteadyState(ss.rho, ss.result, qutip_dims(H_in)), xs
