"""Lindblad time evolution: :func:`mesolve`, with expectation values, kets and time dependence.

A thin layer on :func:`jaxspin.odesolve`: the state is evolved in the real Hermitian
coordinates of :mod:`jaxspin._liouvillian` (``to_real``), with the static part of ``L``
either as its real ``n² × n²`` matrix (``dense``) or applied matrix-free.

**Time dependence** (QuTiP's list format, plus plain callables). ``H`` is

- an operator ``(n, n)`` (array or QuTiP ``Qobj``);
- a callable ``H(t) -> (n, n)``;
- a list of terms, each an operator or a pair ``(op, f)`` with ``f(t)`` a real scalar:
  ``H(t) = Σ_static op + Σ_pairs f(t) op``.

``jump_ops`` is a list whose entries are operators, pairs ``(c, g)`` meaning the jump
operator ``g(t) c`` (the dissipator scales with ``|g(t)|²``), or callables ``c(t)``.
Coefficients may close over parameters (``jax.grad`` differentiates through them). A new
Python function object is a new compilation (JAX caches by function identity): for loops
over parameters pass the parameters as arrays inside a ``jax.tree_util.Partial`` or an
``equinox.Module`` coefficient, which are traced and compile once.

**Default solver** (``solver=None``), a documented rule rather than one fixed choice: an
explicit adaptive solver, ``diffrax.Dopri8()`` for ``rtol < 1e-6`` (at the default 1e-8 it
takes 4.6× fewer steps than a 5th-order method on the Heisenberg chain of
``benchmarks/bench_evolve.py``, 1.8× less time) and ``diffrax.Tsit5()`` otherwise; unless
the problem is stiff by the bound ``κ · (ts[-1] - ts[0]) > 1e4`` with
``κ = Σ_k ‖c_k‖_F² + max_i Σ_j rates[j, i]`` (the fastest possible decay rate of the
static dissipator; an explicit solver then needs at least ``κ T / 3.5`` stability-limited
steps) and ``n ≤ 16`` (the implicit solver's ``n² × n²`` Jacobian stays small): then
``diffrax.Kvaerno5()``. The rule needs concrete values; under ``jit``/``vmap`` (traced
operators) the default is the explicit one. Kvaerno5 at ``n = 32`` factorises a
1024 × 1024 Jacobian per step (minutes where an explicit solver takes a tenth of a second).
"""

from collections.abc import Callable, Mapping
from typing import Any

import diffrax
import jax
import jax.numpy as jnp

from ._checks import filter_jit
from ._evolve import Trajectory, _as_times, _linear, _odesolve, _solve_bytes
from ._inputs import (
    _to_dense,
    as_operator,
    bad_input,
    check_finite,
    check_flag,
    check_hermitian,
    check_value,
    complex_dtype,
    concretely,
    is_concrete,
)
from ._liouvillian import Lindbladian, from_real, to_real
from ._memory import check_fits
from ._qutip import qutip_dims


STIFF_BOUND = 1e4  # κ · T above which the default solver is implicit (module docstring)
IMPLICIT_MAX_DIM = 16  # largest n for which the default stiff solver is Kvaerno5
TIGHT_RTOL = 1e-6  # below it the default explicit solver is 8th order (Dopri8), else Tsit5


def _is_pair(x) -> bool:
    return isinstance(x, tuple | list) and len(x) == 2 and callable(x[1]) and not callable(x[0])


def _split_hamiltonian(H):
    """``(static, pairs, fn)``: the static operator (or None), ``[(op, f)]`` and a callable
    ``H(t)`` (or None)."""
    if callable(H) and not hasattr(H, "full"):
        return None, [], H
    if isinstance(H, list | tuple) and any(_is_pair(h) or callable(h) for h in H):
        static, pairs, fns = [], [], []
        for i, h in enumerate(H):
            if _is_pair(h):
                pairs.append((as_operator(h[0], f"H[{i}][0]"), h[1]))
            elif callable(h) and not hasattr(h, "full"):
                fns.append(h)
            else:
                static.append(as_operator(h, f"H[{i}]"))
        fn = None
        if fns:
            fn = fns[0] if len(fns) == 1 else (lambda t: sum(f(t) for f in fns))
        return (sum(static) if static else None), pairs, fn
    return as_operator(H, "H"), [], None


def _split_jumps(jump_ops):
    """``(static list, pairs [(c, g)], callables [c(t)])``."""
    if jump_ops is None:
        return None, [], []
    if not isinstance(jump_ops, list | tuple):
        return jump_ops, [], []
    if not any(_is_pair(c) or (callable(c) and not hasattr(c, "full")) for c in jump_ops):
        return jump_ops, [], []
    static, pairs, fns = [], [], []
    for i, c in enumerate(jump_ops):
        if _is_pair(c):
            pairs.append((as_operator(c[0], f"jump_ops[{i}][0]"), c[1]))
        elif callable(c) and not hasattr(c, "full"):
            fns.append(c)
        else:
            static.append(c)
    return (static or None), pairs, fns


def _as_state(rho0, n: int):
    """A density matrix ``(n, n)`` from ``rho0``, or ``|ψ⟩⟨ψ|`` from a ket ``(n,)`` /
    ``(n, 1)`` (not renormalised)."""
    arr = jnp.asarray(_to_dense(rho0))
    if arr.shape == (n,) or (arr.shape == (n, 1) and n > 1):
        psi = arr.reshape(n).astype(complex_dtype())
        return jnp.outer(psi, jnp.conj(psi))
    arr = as_operator(arr, "rho0")
    if arr.shape != (n, n):
        raise ValueError(
            f"`rho0` must have shape ({n}, {n}) (a density matrix) or ({n},) (a ket); "
            f"got {arr.shape}."
        )
    return arr


def _norm2(a):
    return jnp.sum(jnp.abs(a) ** 2)


def _default_solver(lind: Lindbladian, span, n: int, rtol=1e-8):
    """The rule of the module docstring (concrete values only; traced → the explicit one)."""
    tight = isinstance(rtol, int | float) and rtol < TIGHT_RTOL
    explicit = diffrax.Dopri8() if tight else diffrax.Tsit5()
    leaves = (lind.H, lind.jump_ops, lind.rates, span)
    if n > IMPLICIT_MAX_DIM or not all(is_concrete(a) for a in leaves):
        return explicit

    def stiff(_):
        kappa = _norm2(lind.jump_ops) + jnp.max(jnp.sum(lind.rates, axis=0))
        return kappa * span > STIFF_BOUND

    return diffrax.Kvaerno5() if concretely(span, stiff) else explicit


def _is_diagonal(c) -> bool:
    return concretely(c, lambda a: jnp.all(a == jnp.diag(jnp.diagonal(a))))


def _diagonal_jumps(lind: Lindbladian) -> tuple[int, ...]:
    c = lind.jump_ops
    return tuple(k for k in range(c.shape[0]) if _is_diagonal(c[k]))


def _free_args(lind: Lindbladian, diag: tuple[int, ...]):
    """The static generator for the matrix-free path, split for speed: ``H_eff`` (with
    every ``c†c`` and rate outflow folded in, computed once, not per step), the weights
    ``W = Σ_k d_k d_k*ᵀ`` of the *diagonal* jump operators (dephasing: ``c ρ c† = W ⊙ ρ``
    in O(n²) instead of two matrix products), the remaining jump operators, the rates.
    ``diag``: the indices of the diagonal ones (:func:`_diagonal_jumps`, decided eagerly
    on concrete values; traced ones count as general). Complex arrays travel as (real,
    imaginary) pairs: complex ``args`` draw diffrax's complex-support warning."""
    c = lind.jump_ops
    general = [k for k in range(c.shape[0]) if k not in diag]
    d = jnp.diagonal(c[jnp.asarray(diag, int)], axis1=1, axis2=2) if diag else None
    n = lind.dim
    w = jnp.zeros((n, n), complex_dtype()) if d is None else jnp.einsum("ki,kj->ij", d, jnp.conj(d))
    cg = c[jnp.asarray(general, int)] if general else jnp.zeros((0, n, n), c.dtype)
    parts = lambda a: (jnp.real(a), jnp.imag(a))  # noqa: E731
    return parts(lind._h_eff()), parts(w), parts(cg), lind.rates


def _lindblad_rhs(t, x, args):
    """Matrix-free ``d to_real(ρ)/dt`` from :func:`_free_args`: O(n³) for the coherent
    part and each general jump operator, O(n²) for all diagonal ones together.
    Module-level (not a closure over the operators) so that repeated calls reuse diffrax's
    compilation."""
    (h_re, h_im), (w_re, w_im), (c_re, c_im), rates = args
    n = h_re.shape[-1]
    rho = from_real(x, n)
    heff, w, c = (jax.lax.complex(*p) for p in ((h_re, h_im), (w_re, w_im), (c_re, c_im)))
    out = -1j * (heff @ rho - rho @ jnp.conj(heff.T)) + w * rho
    if c.shape[0]:
        out = out + jnp.einsum("kij,kjl->il", c @ rho, jnp.conj(jnp.swapaxes(c, 1, 2)))
    pops = jnp.real(jnp.diagonal(rho))
    out = out + jnp.diag(rates @ pops).astype(out.dtype)
    return to_real(out)


def _td_rhs(t, x, args):
    """``d to_real(ρ)/dt`` with time-dependent terms; module-level for compile caching."""
    static, n, h_pairs, c_pairs, h_fn, c_fns = args
    dx = _lindblad_rhs(t, x, static) if isinstance(static, tuple) else static @ x
    for S, f in h_pairs:  # real superoperator of -i[H_k, ·] times f(t)
        dx = dx + jnp.real(f(t)) * (S @ x)
    for D, g in c_pairs:  # dissipator of c_k times |g(t)|²
        dx = dx + jnp.abs(g(t)) ** 2 * (D @ x)
    if h_fn is not None or c_fns:
        rho = from_real(x, n)
        H = jnp.zeros((n, n), complex_dtype()) if h_fn is None else h_fn(t)
        cs = [jnp.asarray(c(t), complex_dtype()) for c in c_fns]
        jumps = jnp.stack(cs) if cs else None
        dx = dx + to_real(Lindbladian(jnp.asarray(H, complex_dtype()), jumps, validate=False)(rho))
    return dx


def _labelled(e_ops) -> dict[str, Any]:
    if e_ops is None:
        return {}
    if isinstance(e_ops, Mapping):
        return {str(k): v for k, v in e_ops.items()}
    if callable(e_ops) and not hasattr(e_ops, "full"):
        return {"e0": e_ops}
    if isinstance(e_ops, list | tuple):
        return {f"e{i}": op for i, op in enumerate(e_ops)}
    return {"e0": e_ops}


def _prepare_e_ops(e_ops, n: int):
    """``{label: (op or callable, hermitian)}``, shapes checked and Hermiticity decided
    eagerly (a concretely Hermitian operator gives real values), or None."""
    if e_ops is None:
        return None
    out = {}
    for name, op in _labelled(e_ops).items():
        if callable(op) and not hasattr(op, "full"):
            out[name] = (op, False)
            continue
        a = as_operator(op, f"e_ops[{name!r}]")
        if a.shape != (n, n):
            raise ValueError(f"`e_ops[{name!r}]` must have shape ({n}, {n}); got {a.shape}.")
        hermitian = concretely(a, lambda m: jnp.allclose(m, jnp.conj(m.T), atol=1e-12))
        out[name] = (a, hermitian)
    return out


def _expectations(e_ops, ts, rhos) -> dict[str, jax.Array]:
    """``{label: (T,)}``: ``Tr(op ρ(t))`` (real for a Hermitian ``op``) or ``f(t, ρ(t))``."""
    out = {}
    for name, (op, hermitian) in e_ops.items():
        if callable(op):
            out[name] = jax.vmap(op)(ts, rhos)
        else:
            val = jnp.einsum("ij,tji->t", op, rhos)
            out[name] = jnp.real(val) if hermitian else val
    return out


def mesolve(
    H,
    jump_ops=None,
    rho0=None,
    ts=None,
    *,
    rates=None,
    e_ops=None,
    dense: bool | None = None,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    dt0: float | None = None,
    max_steps: int = 100_000,
    adjoint: diffrax.AbstractAdjoint | None = None,
    throw: bool = True,
) -> Trajectory:
    """Evolve a density matrix under ``dρ/dt = L(t)(ρ)`` (one problem; ``vmap`` to batch).

    Arguments:

    - ``H``: Hamiltonian, angular-frequency units (ħ = 1): an operator ``(n, n)``, a
      callable ``H(t)``, or a list of operators and ``(op, f)`` pairs (module docstring).
    - ``jump_ops``: jump operators ``c_k`` (rates absorbed, ``c = √γ a``): operators,
      ``(c, g)`` pairs (jump operator ``g(t) c``) or callables ``c(t)``.
    - ``rho0``: density matrix ``(n, n)`` or ket ``(n,)`` / ``(n, 1)`` (→ ``|ψ⟩⟨ψ|``);
      arrays or QuTiP ``Qobj``. Not renormalised.
    - ``ts``: save times (non-decreasing, same time unit as ``1/H``).
    - ``rates``: static classical rates ``(n, n)`` as in :class:`jaxspin.Lindbladian`.
    - ``e_ops``: operators ``(n, n)`` or callables ``f(t, rho)``, as a dict (its keys
      label the results) or a list (labels ``"e0"``, ``"e1"``, ...).
    - ``dense``: static part as the real ``n² × n²`` superoperator (default ``n ≤ 16``) or
      matrix-free (O(n³) per evaluation and per non-diagonal jump operator; diagonal
      ones, e.g. dephasing, cost O(n²) together).
    - ``solver``: a diffrax solver; ``None`` applies the rule of the module docstring
      (explicit Dopri8/Tsit5 unless stiff and small). ``rtol``, ``atol``, ``dt0``,
      ``max_steps``, ``adjoint``, ``throw``: as :func:`jaxspin.odesolve`.

    Returns a :class:`jaxspin.Trajectory`: ``ys`` density matrices ``(T, n, n)``,
    ``expects`` ``{label: (T,)}`` (real for Hermitian operators), ``dims`` the QuTiP
    ``dims`` of ``rho0`` or ``H`` when one was a ``Qobj``; ``traj.expect(op)`` for more.

    Checks: as :class:`jaxspin.Lindbladian` for the static ``H``, ``jump_ops``, ``rates``;
    ``rho0`` finite and Hermitian; ``ts`` and options as :func:`jaxspin.odesolve`; memory
    of the dense superoperator(s) (about ``48 n⁴`` bytes each) and of an implicit solver's
    Jacobian, refused before anything is built. Time-dependent terms are evaluated inside
    the solve and not validated (a NaN there gives a diffrax failure). ``throw=False``: a
    point with bad static ``H``, ``jump_ops``, ``rates``, ``rho0`` or ``ts`` returns
    ``ys`` NaN with ``result = diffrax.RESULTS.nonfinite`` instead of raising.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        >>> up = jnp.array([1.0, 0.0])
        >>> traj = jaxspin.mesolve(sx, [jnp.sqrt(0.1) * sm], up, jnp.linspace(0, 1, 3),
        ...                        e_ops={"sz": sz})
        >>> traj.expects["sz"].shape
        (3,)
    """
    if rho0 is None or ts is None:
        raise ValueError("`rho0` and `ts` are required.")
    throw = check_flag(throw, "throw")
    if dense is not None and not isinstance(dense, bool):
        raise ValueError(f"`dense` must be True, False or None; got {dense!r}.")
    dims = qutip_dims(rho0, H)
    h_static, h_pairs, h_fn = _split_hamiltonian(H)
    c_static, c_pairs, c_fns = _split_jumps(jump_ops)
    if h_static is None:
        n = _td_dim(h_pairs, h_fn, c_pairs, c_fns, rho0)
        h_static = jnp.zeros((n, n), complex_dtype())
    lind = Lindbladian(h_static, c_static, rates, validate=throw)
    n = lind.dim
    for what, ops in (("H", h_pairs), ("jump_ops", c_pairs)):
        for op, _ in ops:
            if op.shape != (n, n):
                raise ValueError(f"`{what}` terms must have shape ({n}, {n}); got {op.shape}.")
    for what, fn in [("H", h_fn)] + [("jump_ops", c) for c in c_fns]:
        if fn is not None:
            out = jax.eval_shape(fn, jax.ShapeDtypeStruct((), jnp.result_type(float)))
            if getattr(out, "shape", None) != (n, n):
                got = getattr(out, "shape", type(out).__name__)
                raise ValueError(f"`{what}(t)` must return an ({n}, {n}) operator; got {got}.")
    rho0 = _as_state(rho0, n)
    dense = n <= 16 if dense is None else dense
    ts = _as_times(ts)
    if solver is None:
        solver = _default_solver(lind, ts[-1] - ts[0], n, rtol)
    n_super = (1 if dense else 0) + len(h_pairs) + len(c_pairs)
    check_fits(
        48 * n**4 * n_super + _solve_bytes(solver, n * n, 8, ts.shape[0]),
        f"mesolve (n = {n}, {'dense superoperator' if dense else 'matrix-free'}, "
        f"{type(solver).__name__})",
    )
    bad = None
    if throw:
        rho0 = check_hermitian(check_finite(rho0, "rho0"), "rho0")
    else:
        bad = (
            bad_input(lind.H, hermitian=True)
            | bad_input(lind.jump_ops)
            | bad_input(lind.rates, nonnegative=True)
            | bad_input(rho0, hermitian=True)
        )
        # A bad point evolves under L = 0 from rho0 = 0 (and is not integrated at all).
        lind = jax.tree_util.tree_map(lambda a: jnp.where(bad, jnp.zeros_like(a), a), lind)
        rho0 = jnp.where(bad, jnp.zeros_like(rho0), rho0)
    if throw:  # eagerly here (ValueError); _odesolve repeats them as run-time checks
        ts = check_value(ts, lambda a: ~jnp.isfinite(a), "`ts` contains NaN or inf.")
        ts = check_value(
            ts,
            lambda a: jnp.diff(a) < 0,
            "`ts` must be non-decreasing (the integration runs forward in time).",
        )
    options = dict(rtol=rtol, atol=atol, dt0=dt0, max_steps=max_steps, adjoint=adjoint)
    ys, result, steps, expects = _run(
        lind,
        () if dense else _diagonal_jumps(lind),
        rho0,
        ts,
        bad,
        h_pairs,
        c_pairs,
        h_fn,
        tuple(c_fns),
        _prepare_e_ops(e_ops, n),
        dense,
        solver,
        options,
        throw,
    )
    return Trajectory(ts, ys, result, steps, expects, dims)


@filter_jit
def _run(
    lind, diag, rho0, ts, bad, h_pairs, c_pairs, h_fn, c_fns, e_ops, dense, solver, options, throw
):
    """Everything after validation, as one compilation (not ~150 small eager ones on the
    first call); cached by shapes, solver, callables and options."""
    n = lind.dim
    static = lind.real_superop() if dense else _free_args(lind, diag)
    if h_pairs or c_pairs or h_fn is not None or c_fns:
        zero = jnp.zeros((n, n), complex_dtype())
        hp = tuple((Lindbladian(op, None, validate=False).real_superop(), f) for op, f in h_pairs)
        cp = tuple((Lindbladian(zero, [c], validate=False).real_superop(), g) for c, g in c_pairs)
        rhs, args = _td_rhs, (static, n, hp, cp, h_fn, c_fns)
    elif dense:  # module-level rhs of (t, x, M): repeated calls reuse the compilation
        rhs, args = _linear, static
    else:
        rhs, args = _lindblad_rhs, static
    traj = _odesolve(
        rhs,
        to_real(rho0),
        ts,
        args,
        bad=bad,
        check_memory=False,
        what="mesolve",
        solver=solver,
        throw=throw,
        **options,
    )
    rhos = jax.vmap(lambda x: from_real(x, n))(traj.ys).astype(complex_dtype())
    expects = None if e_ops is None else _expectations(e_ops, traj.ts, rhos)
    return rhos, traj.result, traj.num_steps, expects


def _td_dim(h_pairs, h_fn: Callable | None, c_pairs, c_fns, rho0) -> int:
    """The dimension when ``H`` has no static part."""
    if h_pairs:
        return h_pairs[0][0].shape[-1]
    if c_pairs:
        return c_pairs[0][0].shape[-1]
    arr = jnp.asarray(_to_dense(rho0))
    if arr.ndim >= 1 and arr.shape[0] >= 1:
        return int(arr.shape[0])
    out = jax.eval_shape(h_fn, 0.0) if h_fn is not None else None
    if out is None or len(out.shape) != 2:
        raise ValueError("Cannot tell the dimension: `H(t)` must return an (n, n) operator.")
    return int(out.shape[-1])
