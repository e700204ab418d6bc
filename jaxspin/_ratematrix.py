"""Classical master equations ``dp/dt = G p`` over discrete states.

Convention (the same as :class:`jaxspin.Lindbladian`'s ``rates``): ``W[j, i] ≥ 0`` is the
rate of the jump ``i → j`` (columns are "from"); the diagonal of ``W`` is ignored. The
generator is ``G = W_off − diag(Σ_j W_off[j, i])`` so probability is conserved
[DeLuca16, Eq. (11); Latta09, Eq. (12); Gong11, Eq. (17)].

Stationary distributions of many-body rate matrices are hard numerically: rates span many
decades (Boltzmann factors, tiny matrix elements), so eliminations that subtract can lose
all accuracy in small probabilities. :class:`GTH` (Grassmann-Taksar-Heyman) never
subtracts: every quantity it forms is a sum of non-negative numbers, which gives entrywise
*relative* accuracy whatever the spread of the rates. :class:`DenseLUStationary` solves the
augmented system ``(G + u 1ᵀ) p = u`` (faster, absolute accuracy only). Both are exact for
derivatives: the tangent of ``p`` is ``-(G + u 1ᵀ)⁻¹ (dG) p`` (implicit function theorem),
never a derivative of the elimination itself.

Input checks (every public function): shapes and Python integers eagerly (``ValueError``
naming the argument); values (rates finite and ``≥ 0``, times finite and ``≥ 0``) eagerly
when concrete and as ``equinox.error_if`` checks when traced, so the same call is refused
inside ``jit``/``vmap``; dense allocations are sized first (:func:`jaxspin.check_fits`).
Where a function takes ``throw=False``, a point with bad input is not refused but comes back
as NaN with result ``invalid_input`` (or NaN alone), and the other points of a batch are
unaffected.
"""

import abc
import functools as ft
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, Float

from ._batching import batch_shape, map_batched
from ._checks import error_if, filter_jit, result_error_if
from ._eigvals import eigvals
from ._inputs import (
    as_real,
    bad_input,
    check_finite,
    check_flag,
    check_int,
    check_nonnegative,
    check_positive,
    check_value,
    is_concrete,
)
from ._memory import check_fits


class STATIONARY_RESULTS(eqx.Enumeration):
    """Outcome codes of stationary-distribution solves."""

    successful = ""
    reducible = (
        "The stationary distribution is not unique: the rate matrix is reducible with two or "
        "more closed classes (groups of states that, once entered, are never left), or (block "
        "solver) a state of block k >= 1 is absorbing for the chain on blocks 0..k."
    )
    nonfinite = "The stationary distribution contains NaN or inf."
    invalid_input = (
        "The rates contain NaN, inf or negative entries; this point was not solved "
        "(throw=False: p is NaN)."
    )


# --------------------------------------------------------------------------------------
# Argument checks shared by the public functions of this module and of jaxspin._evolve
# --------------------------------------------------------------------------------------


def _as_rate_matrix(W, name: str = "W", *, batched: bool = True) -> Array:
    """A real ``(..., n, n)`` (or, unless ``batched``, ``(n, n)``) array with ``n ≥ 1``."""
    W = as_real(W, name, ndim_min=2)
    if W.shape[-1] != W.shape[-2]:
        raise ValueError(f"`{name}` must have shape (..., n, n); got {W.shape}.")
    if not batched and W.ndim != 2:
        raise ValueError(
            f"`{name}` must have shape (n, n) (one problem; use jax.vmap to batch); got {W.shape}."
        )
    if W.shape[-1] == 0:
        raise ValueError(f"`{name}` must have at least one state; got shape {W.shape}.")
    return W


def _check_rates(W: Array, name: str) -> Array:
    """Refuse NaN/inf and negative rates (eagerly, or at run time when traced)."""
    return check_nonnegative(check_finite(W, name), name)


def _generator(W: Float[Array, "n n"]) -> Float[Array, "n n"]:
    n = W.shape[-1]
    off = W * (1 - jnp.eye(n, dtype=W.dtype))
    return off - jnp.diag(jnp.sum(off, axis=0))


def generator(W: Float[Array, "... n n"]) -> Float[Array, "... n n"]:
    """``G = W_off − diag(column sums of W_off)``, with ``W[j, i]`` the rate ``i → j``
    (``(..., n, n)``, batched over leading axes; the diagonal of ``W`` is ignored).

    Checks: ``W`` real, square, ``n ≥ 1``; every entry finite and ``≥ 0`` (``ValueError``
    eagerly, a run-time error inside ``jit``/``vmap``).
    """
    W = _check_rates(_as_rate_matrix(W), "W")
    return jnp.vectorize(_generator, signature="(n,n)->(n,n)")(W)


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------
class AbstractStationarySolver(eqx.Module):
    """How the stationary distribution of one rate matrix is computed (primal only)."""

    @abc.abstractmethod
    def primal(self, W: Float[Array, "n n"]) -> tuple[Float[Array, " n"], Array]:
        """Return ``(p, ok)``: the normalised stationary vector and a success flag."""


class GTH(AbstractStationarySolver):
    """Grassmann-Taksar-Heyman elimination: subtraction-free, entrywise relative accuracy,
    ``O(n³)``.

    States are censored one at a time, from the last to the first. When the next state has
    no rate to the remaining ones (it is absorbing for the censored chain: an absorbing
    state of ``W``, or the last state of a closed class), the remaining state with the
    largest total rate to the others is eliminated instead; chains that never need this
    are eliminated in the fixed order, bit for bit as without pivoting. A closed class's
    last state is never eliminated, so the state left at the end lies in the unique closed
    class (transient states get probability 0). If at some step no remaining state (of
    two or more) has any rate to the others, the chain has two or more closed classes:
    ``ok`` is False (reducible)."""

    def primal(self, W):
        n = W.shape[-1]
        # Row convention for the algorithm: Q[i, j] = rate i -> j.
        Q = jnp.transpose(W) * (1 - jnp.eye(n, dtype=W.dtype))
        idx = jnp.arange(n)
        off = ~jnp.eye(n, dtype=bool)

        def eliminate(step, carry):
            Q, alive, s_all, rank, order = carry
            # The natural candidate: the remaining state of highest index.
            nat = n - 1 - jnp.argmax(alive[::-1])
            s_nat = jnp.sum(jnp.where(alive & (idx != nat), Q[nat], 0.0))
            # Pivot only if it has no rate to the other remaining states (masked sums of
            # non-negative numbers: exact zeros stay zero).
            s_rem = jnp.sum(jnp.where(alive[None, :] & off, Q, 0.0), axis=1)
            k = jnp.where(s_nat > 0, nat, jnp.argmax(jnp.where(alive, s_rem, -1.0)))
            rest = alive & (idx != k)
            s = jnp.sum(jnp.where(rest, Q[k], 0.0))
            col = jnp.where(rest, Q[:, k], 0.0)
            row = jnp.where(rest, Q[k], 0.0)
            safe = jnp.where(s > 0, s, 1.0)
            Q = Q + jnp.outer(col, row) / safe
            step = jnp.asarray(step, idx.dtype)
            return Q, rest, s_all.at[k].set(s), rank.at[k].set(step), order.at[step].set(k)

        init = (
            Q,
            jnp.ones(n, bool),
            jnp.zeros(n, W.dtype),
            jnp.full(n, n - 1, idx.dtype),  # rank[k]: the step that eliminated state k
            jnp.zeros(n, idx.dtype),  # order[t]: the state eliminated at step t
        )
        Q, alive, s_all, rank, order = jax.lax.fori_loop(0, n - 1, eliminate, init)
        last = jnp.argmax(alive)

        def back(t, pi):
            # Reverse elimination order: state k from the states still there when it went.
            step = n - 2 - t
            k = order[step]
            val = jnp.sum(jnp.where(rank > step, pi * Q[:, k], 0.0)) / jnp.where(
                s_all[k] > 0, s_all[k], 1.0
            )
            return pi.at[k].set(val)

        pi = jax.lax.fori_loop(0, n - 1, back, jnp.zeros(n, W.dtype).at[last].set(1.0))
        ok = jnp.all((idx == last) | (s_all > 0))
        return pi / jnp.sum(pi), ok


class DenseLUStationary(AbstractStationarySolver):
    """LU solve of the augmented system ``(G + u 1ᵀ) p = u`` with ``u = 1/n`` (LAPACK);
    about twice as fast as GTH, absolute (not relative) accuracy in small probabilities.
    A pivot below ``rcond`` (finite, ``≥ 0``) times the largest entry marks the chain
    reducible."""

    rcond: float = eqx.field(static=True, default=1e-13)

    def __check_init__(self):
        r = self.rcond
        real = int | float | np.integer | np.floating
        if isinstance(r, bool) or not isinstance(r, real) or not math.isfinite(r) or r < 0:
            raise ValueError(f"`rcond` must be a finite float >= 0; got {r!r}.")

    def primal(self, W):
        n = W.shape[-1]
        A = _generator(W) + jnp.full((n, n), 1.0 / n, W.dtype)
        lu, piv = jax.scipy.linalg.lu_factor(A)
        p = jax.scipy.linalg.lu_solve((lu, piv), jnp.full(n, 1.0 / n, W.dtype))
        ok = jnp.min(jnp.abs(jnp.diagonal(lu))) > self.rcond * jnp.max(jnp.abs(A))
        return p, ok


# --------------------------------------------------------------------------------------
# The differentiable kernel
# --------------------------------------------------------------------------------------
def _stationary_kernel(W, solver):
    @jax.custom_jvp
    def stationary(W):
        p, ok = solver.primal(W)
        return p, ok

    @stationary.defjvp
    def stationary_jvp(primals, tangents):
        (W,), (dW,) = primals, tangents
        p, ok = stationary(W)
        n = W.shape[-1]
        A = _generator(W) + jnp.full((n, n), 1.0 / n, W.dtype)
        # A reducible point has no derivative: NaN in both modes. Its singular A is swapped
        # for the identity and the NaN enters on the right-hand side, so that neither the
        # solve nor its transpose (reverse mode, which raises on NaN input) fails the batch.
        A = jnp.where(ok, A, jnp.eye(n, dtype=A.dtype))
        rhs = (-_generator(dW) @ p) * jnp.where(ok, 1.0, jnp.nan)
        dp = lx.linear_solve(lx.MatrixLinearOperator(A), rhs, lx.LU(), throw=False).value
        return (p, ok), (dp, jnp.zeros_like(ok, dtype=jax.dtypes.float0))

    return stationary(W)


class Stationary(eqx.Module):
    """A stationary distribution ``p`` (``(..., n)``) and its ``result`` code."""

    p: Float[Array, "... n"]
    result: STATIONARY_RESULTS


def _labelled(p, ok, throw: bool) -> "Stationary":
    """``Stationary(p, result)``: reducible unless ``ok``, non-finite if ``p`` has NaN/inf;
    raises (through ``eqx.error_if``) on either when ``throw``."""
    finite = jnp.all(jnp.isfinite(p))
    result = STATIONARY_RESULTS.where(
        ok,
        STATIONARY_RESULTS.where(
            finite, STATIONARY_RESULTS.successful, STATIONARY_RESULTS.nonfinite
        ),
        STATIONARY_RESULTS.reducible,
    )
    if throw:
        p = result_error_if(p, result, result != STATIONARY_RESULTS.successful)
    return Stationary(p, result)


def _screened(blocks, names, throw: bool, validate: bool):
    """The rate arrays of one point, checked (``throw``: refused at run time when
    ``validate``) or screened (not ``throw``): a point with NaN/inf or negative rates gets
    harmless stand-in rates and is flagged. Returns ``(blocks, bad)``, ``bad`` None or a
    boolean scalar."""
    if throw:
        if validate:
            blocks = [_check_rates(b, n) for b, n in zip(blocks, names, strict=True)]
        return list(blocks), None
    bad = ft.reduce(jnp.logical_or, [bad_input(b, nonnegative=True) for b in blocks])
    return [jnp.where(bad, jnp.ones_like(b), b) for b in blocks], bad


def _flag_invalid(st: Stationary, bad) -> Stationary:
    if bad is None:
        return st
    return Stationary(
        jnp.where(bad, jnp.nan, st.p),
        STATIONARY_RESULTS.where(bad, STATIONARY_RESULTS.invalid_input, st.result),
    )


@filter_jit
def _stationary_jit(W, solver, throw, validate):
    def kernel(W):
        (W,), bad = _screened([W], ["W"], throw, validate)
        p, ok = _stationary_kernel(W, solver)
        return _flag_invalid(_labelled(p, ok, throw), bad)

    return map_batched(kernel, [W], [2], ["W"])


def _batch_count(shape, block_size: int = 256) -> int:
    """Problems held at once by :func:`jaxspin._batching.map_batched` for a batch shape."""
    return min(math.prod(shape), block_size) if shape else 1


def stationary_distribution(
    W, *, solver: AbstractStationarySolver = GTH(), throw: bool = True
) -> Stationary:
    """Unique stationary distribution of the master equation with rates ``W`` (``(..., n, n)``,
    ``W[j, i]`` = rate ``i → j``, ≥ 0).

    ``solver``: :class:`GTH` (default; robust to rates spanning many decades; handles
    transient and absorbing states) or :class:`DenseLUStationary`. Differentiable
    (implicit), batched over leading axes. Returns :class:`Stationary` with ``p`` and
    ``result``.

    Checks: ``W`` real, square, ``n ≥ 1`` (``ValueError``); ``solver`` a solver object;
    memory. ``throw=True``: NaN/inf or negative rates raise ``ValueError`` (concrete ``W``)
    or a run-time error (inside ``jit``/``vmap``), and a reducible chain (two or more closed
    classes: not unique) raises. ``throw=False``: nothing about the values raises; each
    point gets its own ``result`` (``reducible``, ``nonfinite`` or ``invalid_input`` for
    bad rates, with ``p`` NaN), and the other points of a batch are unaffected.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> W = jnp.array([[0.0, 1.0], [2.0, 0.0]])  # 0 -> 1 at 2, 1 -> 0 at 1
        >>> [round(float(x), 12) for x in jaxspin.stationary_distribution(W).p]
        [0.333333333333, 0.666666666667]
    """
    W = _as_rate_matrix(W)
    if not isinstance(solver, AbstractStationarySolver):
        raise ValueError(
            f"`solver` must be a jaxspin.AbstractStationarySolver (e.g. jaxspin.GTH()); "
            f"got {solver!r}."
        )
    throw = check_flag(throw, "throw")
    n = W.shape[-1]
    count = _batch_count(W.shape[:-2])
    check_fits(
        count * 6 * W.dtype.itemsize * n * n,
        f"stationary distribution of a {n}-state rate matrix ({count} at once)",
    )
    concrete = is_concrete(W)
    if concrete and throw:
        _check_rates(W, "W")
    return _stationary_jit(W, solver, throw, not concrete)


def relaxation_rates(
    W: Float[Array, "n n"], k: int = 1, *, throw: bool = True
) -> Float[Array, " k"]:
    """The ``k`` smallest non-zero relaxation rates ``-Re λ`` of the generator (one problem).

    The eigenvalue closest to zero (the stationary mode) is removed. All eigenvalues of
    the dense generator: LAPACK ``geev`` on the CPU; on a GPU (or any other device) the
    balanced Hessenberg QR algorithm of :mod:`jaxspin._eigvals`, in device code (JAX's own
    ``eigvals`` would run on the host there). Both have the backward error ``~eps |G|``;
    any generator, with or without detailed balance. Cost ``O(n³)`` on the CPU,
    ``O(n⁴)`` on a GPU (a dense QR per iteration): for chains of up to a few hundred
    states. Differentiable (derivatives of simple eigenvalues, see
    :mod:`jaxspin._eigvals`).

    Checks: ``W`` of shape ``(n, n)``, ``n ≥ 2`` (``vmap`` to batch) and ``k`` a Python int
    with ``1 ≤ k ≤ n − 1`` (``ValueError``); rates finite and ``≥ 0`` (``ValueError`` when
    concrete, a run-time error when traced). ``throw=False``: bad rates give NaN rates for
    this point instead of an error.
    """
    W = _as_rate_matrix(W, batched=False)
    n = W.shape[-1]
    if n < 2:
        raise ValueError("`W` has one state: a chain of one state has no relaxation rates.")
    k = check_int(k, "k", 1, n - 1, f" (`W` has {n} states, so {n - 1} relaxation rates)")
    throw = check_flag(throw, "throw")
    check_fits(16 * 8 * n * n, f"relaxation rates of a {n}-state rate matrix")
    if throw:
        W = _check_rates(W, "W")
    return _relaxation_rates(W, k, throw)


@filter_jit
def _relaxation_rates(W, k, throw):
    (W,), bad = _screened([W], ["W"], throw, False)
    lam = eigvals(_generator(W))
    rates = jnp.sort(-jnp.real(lam))[1 : 1 + k]
    return rates if bad is None else jnp.where(bad, jnp.nan, rates)


def _as_chain(up, down) -> tuple[Array, Array]:
    """The rates of one birth-death chain with ``K ≥ 1`` links: two real ``(K,)`` arrays."""
    up = as_real(up, "up")
    down = as_real(down, "down")
    if up.ndim != 1 or up.shape != down.shape:
        raise ValueError(
            f"`up` and `down` must be 1-D of one shape (one chain; use jax.vmap to batch); "
            f"got {up.shape}, {down.shape}."
        )
    if up.shape[0] == 0:
        raise ValueError("`up` and `down` are empty: a chain needs K >= 1 links (K + 1 states).")
    return up, down


def birth_death_stationary(
    up: Float[Array, " K"], down: Float[Array, " K"], *, log: bool = False
) -> Float[Array, " K+1"]:
    """Stationary distribution of a birth-death chain on states ``0..K``.

    ``up[k]`` is the rate ``k → k+1`` and ``down[k]`` the rate ``k+1 → k`` (both > 0).
    Exact product formula ``p_{k+1}/p_k = up[k]/down[k]`` (detailed balance holds for any
    one-dimensional chain), evaluated in log space so ratios of 1e±300 are fine
    [Latta09, Eq. (12) for each Dicke ladder]. Differentiable.
    ``log=True`` returns the normalised ``log p`` instead (no underflow: use it when
    probabilities below 1e-308 still matter, e.g. to restrict the chain to a sub-interval
    by renormalising).

    Checks: ``up`` and ``down`` 1-D of one shape ``(K,)``, ``K ≥ 1`` (one chain; ``vmap``
    to batch) (``ValueError``); every rate finite and ``> 0`` (``ValueError`` when concrete,
    a run-time error inside ``jit``/``vmap``).
    """
    up, down = _as_chain(up, down)
    log = check_flag(log, "log")
    up = check_positive(up, "up")
    down = check_positive(down, "down")
    return _birth_death_stationary(up, down, log)


@filter_jit
def _birth_death_stationary(up, down, log):
    logp = jnp.concatenate([jnp.zeros(1, up.dtype), jnp.cumsum(jnp.log(up) - jnp.log(down))])
    logp = logp - jax.nn.logsumexp(logp)
    return logp if log else jnp.exp(logp)


class BirthDeathModes(eqx.Module):
    """Relaxation modes of a birth-death chain on states ``0..K`` (one chain; ``vmap`` to
    batch): ``p(t) = Π^{1/2} V e^{−Λ t} Vᵀ Π^{−1/2} p(0)``.

    ``log_pi`` ``(K+1,)``: log of the detailed-balance weights (max 0; each connected block
    normalised separately); ``rates`` ``(K+1,)``: the relaxation rates ``Λ ≥ 0`` (the
    eigenvalues of ``−G``); ``vectors`` ``(K+1, K+1)``: orthonormal eigenvectors of the
    symmetrised generator ``S = Π^{−1/2} G Π^{1/2}``. One decomposition serves any number
    of times and initial states.
    """

    log_pi: Float[Array, " K1"]
    rates: Float[Array, " K1"]
    vectors: Float[Array, "K1 K1"]

    def propagate(self, p0: Float[Array, " K1"], t: Float[Array, ""]) -> Float[Array, " K1"]:
        """``p(t)`` from ``p(0) = p0`` after a time ``t ≥ 0`` (in the rates' inverse units).

        Checks: one chain's modes (``vmap`` over a batch of them), ``p0`` of shape
        ``(K+1,)``, ``t`` a scalar (``vmap`` over times) (``ValueError``); ``p0`` finite and
        ``≥ 0``, ``t`` finite and ``≥ 0`` (``ValueError`` when concrete, a run-time error
        when traced; backward propagation would amplify every mode by ``e^{Λ|t|}``).
        """
        if self.rates.ndim != 1:
            raise ValueError(
                f"`propagate` acts on the modes of one chain; these have rates of shape "
                f"{self.rates.shape} (use jax.vmap over the batch)."
            )
        p0 = as_real(p0, "p0")
        t = as_real(t, "t")
        if p0.shape != self.rates.shape:
            raise ValueError(f"`p0` must have shape {self.rates.shape}; got {p0.shape}.")
        if t.ndim != 0:
            raise ValueError(f"`t` must be a scalar time (vmap over times); got shape {t.shape}.")
        p0 = check_positive(p0, "p0", strict=False)
        t = check_positive(t, "t", strict=False)
        half = 0.5 * self.log_pi
        q = jnp.exp(-half) * p0
        q = self.vectors @ (jnp.exp(-self.rates * t) * (self.vectors.T @ q))
        return jnp.exp(half) * q

    @property
    def amplification(self) -> Float[Array, ""]:
        """``exp(½ (max log π − min log π))``: the factor by which rounding errors of the
        eigendecomposition can be amplified in :meth:`propagate` (absolute error of a
        probability ≲ 1e-16 × this). Keep it below ~1e8."""
        return jnp.exp(0.5 * (jnp.max(self.log_pi) - jnp.min(self.log_pi)))


def birth_death_modes(up: Float[Array, " K"], down: Float[Array, " K"]) -> BirthDeathModes:
    """Exact propagator of the birth-death chain with rates ``up[k]`` (``k → k+1``) and
    ``down[k]`` (``k+1 → k``), from the symmetric eigendecomposition of its generator.

    A one-dimensional chain is reversible, so ``G`` is similar to the symmetric tridiagonal
    ``S`` with diagonal ``−(up[k] + down[k−1])`` and off-diagonal ``√(up[k] down[k])``
    (no ``Π`` needed to form it). A pair ``up[k] = down[k] = 0`` splits the chain into
    independent blocks (allowed; a state with zero probability in an unreachable block
    stays there); ``up[k] > 0`` with ``down[k] = 0`` (or the reverse) is irreversible and
    raises. Cost ``O(K³)`` once; each :meth:`BirthDeathModes.propagate` is ``O(K²)`` for any
    ``t`` — the same result as ``expm(G t) p0`` (:func:`jaxspin.propagate`) but with no
    step-size or squaring limit. Rounding errors grow with the spread of ``Π``
    (:attr:`BirthDeathModes.amplification`): use it for chains whose stationary
    probabilities span less than ~30 decades.

    Checks: ``up`` and ``down`` 1-D of one shape ``(K,)``, ``K ≥ 1`` (one chain; ``vmap``
    to batch) (``ValueError``); memory; every rate finite and ``≥ 0`` with ``up[k] > 0``
    exactly when ``down[k] > 0`` (``ValueError`` when concrete, a run-time error inside
    ``jit``/``vmap``).
    """
    up, down = _as_chain(up, down)
    K1 = up.shape[0] + 1
    check_fits(8 * up.dtype.itemsize * K1 * K1, f"eigendecomposition of a {K1}-state chain")
    up = check_positive(up, "up", strict=False)
    down = check_positive(down, "down", strict=False)
    pair = check_value(
        jnp.stack([up, down]),
        lambda a: (a[0] > 0) != (a[1] > 0),
        "birth_death_modes needs `up` and `down` with up[k] > 0 exactly when down[k] > 0 "
        "(a one-way link is irreversible).",
    )
    return _birth_death_modes(pair[0], pair[1])


@filter_jit
def _birth_death_modes(up, down):
    link = up > 0
    safe_up = jnp.where(link, up, 1.0)
    safe_down = jnp.where(link, down, 1.0)
    log_ratio = jnp.where(link, jnp.log(safe_up) - jnp.log(safe_down), 0.0)
    log_pi = jnp.concatenate([jnp.zeros(1, up.dtype), jnp.cumsum(log_ratio)])
    log_pi = log_pi - jnp.max(log_pi)
    zero = jnp.zeros(1, up.dtype)
    diag = -(jnp.concatenate([up, zero]) + jnp.concatenate([zero, down]))
    off = jnp.sqrt(up * down)
    S = jnp.diag(diag) + jnp.diag(off, 1) + jnp.diag(off, -1)
    lam, vec = jnp.linalg.eigh(S)
    return BirthDeathModes(log_pi, -lam, vec)


# --------------------------------------------------------------------------------------
# Block-tridiagonal chains: states in blocks 0..K, jumps only within a block or to a
# neighbouring block (sectors of a conserved quantum number that jumps change by 0 or ±1)
# --------------------------------------------------------------------------------------
class BlockTridiagonalRates(eqx.Module):
    """Rates of a chain whose states fall into blocks ``0..K`` with jumps only inside a
    block or between neighbouring blocks, stored block by block (never as a dense matrix).

    Same convention as a dense ``W`` (``[j, i]`` = rate ``i → j``):

    - ``diag[k]``, shape ``(..., d_k, d_k)``: jumps inside block ``k`` (diagonal ignored);
    - ``lower[k]``, shape ``(..., d_{k+1}, d_k)``: jumps from block ``k`` to block ``k+1``;
    - ``upper[k]``, shape ``(..., d_k, d_{k+1})``: jumps from block ``k+1`` to block ``k``.

    Leading batch dimensions (the same on every block) are allowed. States are numbered
    block after block, so :meth:`dense` is the ordinary ``W`` of the whole chain.
    """

    diag: tuple[Float[Array, "... a a"], ...]
    lower: tuple[Float[Array, "... b a"], ...]
    upper: tuple[Float[Array, "... a b"], ...]

    def __init__(self, diag, lower, upper):
        self.diag = tuple(as_real(a, f"diag[{k}]", ndim_min=2) for k, a in enumerate(diag))
        self.lower = tuple(as_real(a, f"lower[{k}]", ndim_min=2) for k, a in enumerate(lower))
        self.upper = tuple(as_real(a, f"upper[{k}]", ndim_min=2) for k, a in enumerate(upper))

    @property
    def sizes(self) -> tuple[int, ...]:
        """The block dimensions ``(d_0, ..., d_K)``."""
        return tuple(int(a.shape[-1]) for a in self.diag)

    def dense(self) -> Float[Array, "... n n"]:
        """The full ``(..., n, n)`` rate matrix (for small chains and tests; its size is
        checked against the memory available first)."""
        sizes = self.sizes
        args, names, _ = _block_args(self)
        batch = math.prod(batch_shape(args, [2] * len(args), names))
        check_fits(8 * batch * sum(sizes) ** 2, f"dense rate matrix of blocks {sizes}")
        K = len(sizes) - 1
        rows = []
        for j in range(K + 1):
            row = []
            for i in range(K + 1):
                if i == j:
                    blk = self.diag[j]
                elif i == j - 1:
                    blk = self.lower[i]
                elif i == j + 1:
                    blk = self.upper[j]
                else:
                    blk = jnp.zeros(
                        self.diag[j].shape[:-2] + (sizes[j], sizes[i]), self.diag[j].dtype
                    )
                row.append(blk)
            rows.append(row)
        batch = jnp.broadcast_shapes(*(b.shape[:-2] for r in rows for b in r))
        rows = [[jnp.broadcast_to(b, batch + b.shape[-2:]) for b in r] for r in rows]
        return jnp.concatenate([jnp.concatenate(r, axis=-1) for r in rows], axis=-2)


def _check_blocks(rates: BlockTridiagonalRates) -> None:
    """Shape checks (eager ``ValueError``): block counts, non-empty square diagonal blocks,
    matching off-diagonal blocks, batch dimensions that broadcast."""
    if not isinstance(rates, BlockTridiagonalRates):
        raise ValueError(f"`rates` must be a BlockTridiagonalRates; got {type(rates).__name__}.")
    K = len(rates.diag) - 1
    if K < 0:
        raise ValueError("`rates` needs at least one block.")
    if len(rates.lower) != K or len(rates.upper) != K:
        raise ValueError(
            f"`rates` has {K + 1} diagonal blocks, so it needs {K} lower and {K} upper blocks; "
            f"got {len(rates.lower)} and {len(rates.upper)}."
        )
    sizes = rates.sizes
    for k, a in enumerate(rates.diag):
        if a.shape[-2] != a.shape[-1]:
            raise ValueError(f"`diag[{k}]` must be square; got shape {a.shape}.")
        if a.shape[-1] == 0:
            raise ValueError(f"`diag[{k}]` is an empty block (shape {a.shape}); drop it.")
    for k in range(K):
        if rates.lower[k].shape[-2:] != (sizes[k + 1], sizes[k]):
            raise ValueError(
                f"`lower[{k}]` must have shape (..., {sizes[k + 1]}, {sizes[k]}); "
                f"got {rates.lower[k].shape}."
            )
        if rates.upper[k].shape[-2:] != (sizes[k], sizes[k + 1]):
            raise ValueError(
                f"`upper[{k}]` must have shape (..., {sizes[k]}, {sizes[k + 1]}); "
                f"got {rates.upper[k].shape}."
            )
    args, names, _ = _block_args(rates)
    batch_shape(args, [2] * len(args), names)


def _lu_solve(lu, perm, b):
    """Solve ``T x = b`` from ``jax.lax.linalg.lu`` factors (row permutation ``perm``)."""
    tri = jax.lax.linalg.triangular_solve
    b2 = b if b.ndim == 2 else b[:, None]
    y = tri(lu, b2[perm], left_side=True, lower=True, unit_diagonal=True)
    x = tri(lu, y, left_side=True, lower=False)
    return x if b.ndim == 2 else x[:, 0]


def _offdiag(a):
    return a * (1 - jnp.eye(a.shape[-1], dtype=a.dtype))


class _BlockFactors(eqx.Module):
    """Block elimination of one chain (single problem): ``T_k = -G^c_kk`` (censored
    in-block generator of block ``k`` once blocks ``k+1..K`` are eliminated) as LU factors,
    ``X_k = T_k⁻¹ L_{k-1}``, the censored generator ``G0`` of block 0, and ``p``."""

    lus: tuple
    pivs: tuple  # row permutations of the LU factors
    X: tuple
    lower: tuple
    upper: tuple
    G0: Array
    p0: Array  # stationary distribution of the censored chain on block 0
    p: Array
    ok: Array

    @property
    def sizes(self):
        return (self.G0.shape[-1],) + tuple(int(x.shape[0]) for x in self.X)

    def solve(self, b: Float[Array, "n ..."]) -> Float[Array, "n ..."]:
        """Solve ``G x = b`` with ``1ᵀ x = 0``; ``b`` must satisfy ``1ᵀ b = 0`` (the range of
        the generator). Linear in ``b`` (so transposable: used for implicit gradients)."""
        sizes = self.sizes
        K = len(sizes) - 1
        bs = list(jnp.split(b, list(np.cumsum(sizes)[:-1]), axis=0))
        ys = [None] * (K + 1)
        for k in range(K, 0, -1):
            ys[k] = _lu_solve(self.lus[k - 1], self.pivs[k - 1], bs[k])
            bs[k - 1] = bs[k - 1] + self.upper[k - 1] @ ys[k]
        # Block 0: G0 x0 = b0 with 1ᵀx0 = 0, via A0 = G0 + c p0 1ᵀ: A0 keeps G0's non-zero
        # eigenvalues and maps p0 to c p0, so with c = |G0| it is as well conditioned as G0
        # itself (a fixed u 1ᵀ would not be when G0's rates are tiny, e.g. slow modes).
        c = jnp.max(jnp.abs(jnp.diagonal(self.G0)))
        c = jnp.where(c > 0, c, 1.0)
        A0 = self.G0 + c * jnp.outer(self.p0, jnp.ones_like(self.p0))
        xs = [jnp.linalg.solve(A0, bs[0])]
        for k in range(1, K + 1):
            xs.append(self.X[k - 1] @ xs[k - 1] - ys[k])
        x = jnp.concatenate(xs, axis=0)
        p = self.p if x.ndim == 1 else self.p[:, None]
        return x - p * jnp.sum(x, axis=0)


def _eliminate_block(S, lower, upper, diag_below):
    """Eliminate one block of a block-tridiagonal chain [block form of GTH].

    ``S``: off-diagonal rates inside block ``k`` of the chain censored on blocks ``0..k``;
    ``lower``/``upper``: the rates ``k-1 → k`` and ``k → k-1``; ``diag_below``: the rates
    inside block ``k-1``. Returns ``(lu, piv, X, S_below, ok)``: LU factors of
    ``T_k = -G^c_kk``, ``X = T_k⁻¹ L_{k-1} ≥ 0``, the censored rates inside block ``k-1``
    and whether every state of block ``k`` can leave it (the elimination is defined).
    The one step both :func:`stationary_block_tridiagonal` and
    :func:`stationary_block_tridiagonal_streamed` take."""
    # Censored chain on blocks 0..k: block k leaves only inside itself or to block k-1.
    # Its generator's diagonal is minus the column sums of the off-diagonal rates (GTH
    # trick), never the result of a subtraction.
    out = jnp.sum(S, axis=0) + jnp.sum(upper, axis=0)
    ok = jnp.all(out > 0)
    T = jnp.diag(jnp.where(out > 0, out, 1.0)) - S
    lu, _, piv = jax.lax.linalg.lu(T)
    X = jnp.maximum(_lu_solve(lu, piv, lower), 0.0)
    # Rates of the censored chain inside block k-1: direct ones plus excursions into k.
    S_below = _offdiag(diag_below) + _offdiag(upper @ X)
    return lu, piv, X, S_below, ok


def _back_substitute(p0, Xs):
    """``p_k = X_k p_{k-1}`` from block 0 up, carried as normalised blocks and log weights
    (block weights of 1e±300 are fine); ``Xs[k-1] = X_k``. Returns ``p`` concatenated."""
    blocks, logw = [p0], [jnp.zeros((), p0.dtype)]
    for X in Xs:
        q = X @ blocks[-1]
        s = jnp.sum(q)
        blocks.append(q / jnp.where(s > 0, s, 1.0))
        logw.append(logw[-1] + jnp.log(s))
    logw = jnp.stack(logw)
    w = jnp.exp(logw - jax.nn.logsumexp(logw))
    return jnp.concatenate([w[k] * b for k, b in enumerate(blocks)])


def _block_factorize(diag, lower, upper) -> _BlockFactors:
    """Eliminate blocks ``K, K-1, ..., 1`` (block form of GTH), then solve block 0 by GTH."""
    K = len(diag) - 1
    S = _offdiag(diag[K])
    lus, pivs, Xs = [None] * K, [None] * K, [None] * K
    ok = jnp.asarray(True)
    for k in range(K, 0, -1):
        lu, piv, X, S, ok_k = _eliminate_block(S, lower[k - 1], upper[k - 1], diag[k - 1])
        lus[k - 1], pivs[k - 1], Xs[k - 1] = lu, piv, X
        ok = ok & ok_k
    p0, ok0 = GTH().primal(S)
    ok = ok & ok0
    G0 = _generator(S)
    p = _back_substitute(p0, Xs)
    return _BlockFactors(
        tuple(lus), tuple(pivs), tuple(Xs), tuple(lower), tuple(upper), G0, p0, p, ok
    )


def _block_generator_apply(diag, lower, upper, p):
    """``G p`` for block-tridiagonal rates (diagonal from column sums), ``p`` concatenated."""
    sizes = [a.shape[-1] for a in diag]
    K = len(sizes) - 1
    ps = jnp.split(p, list(np.cumsum(sizes)[:-1]))
    out = []
    for k in range(K + 1):
        A = _offdiag(diag[k])
        leave = jnp.sum(A, axis=0)
        y = A @ ps[k]
        if k < K:
            leave = leave + jnp.sum(lower[k], axis=0)
            y = y + upper[k] @ ps[k + 1]
        if k > 0:
            leave = leave + jnp.sum(upper[k - 1], axis=0)
            y = y + lower[k - 1] @ ps[k - 1]
        out.append(y - leave * ps[k])
    return jnp.concatenate(out)


@jax.custom_jvp
def _block_stationary(diag, lower, upper):
    fac = _block_factorize(diag, lower, upper)
    return fac.p, fac.ok


@_block_stationary.defjvp
def _block_stationary_jvp(primals, tangents):
    diag, lower, upper = primals
    fac = _block_factorize(diag, lower, upper)
    ddiag, dlower, dupper = tangents
    # Implicit function theorem: G dp = -(dG) p with 1ᵀ dp = 0.
    dp = fac.solve(-_block_generator_apply(ddiag, dlower, dupper, fac.p))
    return (fac.p, fac.ok), (dp, jnp.zeros_like(fac.ok, dtype=jax.dtypes.float0))


def _block_args(rates):
    K = len(rates.diag) - 1
    args = [*rates.diag, *rates.lower, *rates.upper]
    names = (
        [f"diag[{k}]" for k in range(K + 1)]
        + [f"lower[{k}]" for k in range(K)]
        + [f"upper[{k}]" for k in range(K)]
    )
    return args, names, K


def _unpack(blocks, K):
    return tuple(blocks[: K + 1]), tuple(blocks[K + 1 : 2 * K + 1]), tuple(blocks[2 * K + 1 :])


@filter_jit
def _block_stationary_jit(rates, throw, validate):
    args, names, K = _block_args(rates)

    def kernel(*blocks):
        blocks, bad = _screened(blocks, names, throw, validate)
        p, ok = _block_stationary(*_unpack(blocks, K))
        return _flag_invalid(_labelled(p, ok, throw), bad)

    return map_batched(kernel, args, [2] * len(args), names)


def _block_bytes(sizes) -> int:
    """Peak bytes of one block elimination: every block, its LU and X (float64)."""
    sq = sum(d * d for d in sizes)
    nb = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return 8 * (3 * sq + 5 * nb)


def stationary_block_tridiagonal(rates: BlockTridiagonalRates, *, throw: bool = True) -> Stationary:
    """Unique stationary distribution of a block-tridiagonal chain, block by block.

    Blocks ``K, K-1, ..., 1`` are eliminated in turn: the Schur complement of a generator
    is the generator of the *censored* chain (the chain watched only while it is in the
    remaining blocks), so after eliminating block ``k`` the rates inside block ``k-1``
    become ``A_{k-1} + U_{k-1} T_k⁻¹ L_{k-1}`` (all terms ≥ 0, ``T_k⁻¹ ≥ 0`` entrywise)
    and, as in :class:`GTH`, the diagonal of every censored generator is recomputed as
    minus the column sums of its off-diagonal rates, never obtained by subtraction.
    Block 0 is solved by :class:`GTH` and ``p_k = T_k⁻¹ L_{k-1} p_{k-1}`` (products of
    non-negative numbers, carried with log weights so block weights of 1e±300 are fine).
    Every state of a block ``k ≥ 1`` needs a path to another state of blocks ``0..k`` (the
    blocks still there when block ``k`` is eliminated; no pivoting across blocks): put an
    absorbing state in block 0, or use :func:`stationary_distribution` on
    :meth:`BlockTridiagonalRates.dense`.

    Accuracy: probabilities keep relative accuracy across blocks whatever the spread of
    the rates between blocks. Inside a block, ``T_k⁻¹ L`` comes from a LAPACK LU of the
    column diagonally dominant M-matrix ``T_k`` (no pivoting happens; the triangular
    solves only add non-negative terms); its pivots lose about ``log10(r)`` digits where
    ``r`` is the ratio of the in-block rates to the rates leaving the block (small for
    sectors of a conserved quantity with spin-flip exchange). Put the smallest block
    first: block 0 is solved by dense GTH.

    Cost ``O(Σ_k d_k³ + d_k² d_{k-1})`` instead of ``O(n³)``; memory ``O(Σ d_k²)``.
    Differentiable (implicit function theorem, the same block elimination solves for the
    tangent), batched over leading axes. Returns :class:`Stationary` with ``p`` of shape
    ``(..., n)`` (states numbered block after block).

    Checks: block shapes (``ValueError``), memory; ``throw=True``: NaN/inf or negative rates
    in any block raise (``ValueError`` when concrete, a run-time error when traced), as does
    a failed elimination (``reducible``). ``throw=False``: each point gets its own
    ``result`` (``invalid_input`` for bad rates, with ``p`` NaN); other points unaffected.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> r = jaxspin.BlockTridiagonalRates(
        ...     diag=[jnp.zeros((1, 1)), jnp.zeros((1, 1))],
        ...     lower=[jnp.array([[2.0]])], upper=[jnp.array([[1.0]])])
        >>> [round(float(x), 12) for x in jaxspin.stationary_block_tridiagonal(r).p]
        [0.333333333333, 0.666666666667]
    """
    _check_blocks(rates)
    throw = check_flag(throw, "throw")
    args, names, _ = _block_args(rates)
    count = _batch_count(batch_shape(args, [2] * len(args), names))
    check_fits(
        count * _block_bytes(rates.sizes),
        f"block-tridiagonal stationary solve (blocks {rates.sizes}, {count} at once)",
    )
    concrete = all(is_concrete(a) for a in args)
    if concrete and throw:
        for a, n in zip(args, names, strict=True):
            _check_rates(a, n)
    return _block_stationary_jit(rates, throw, not concrete)


@filter_jit
def _stream_step(S, lower, upper, diag_below):
    _, _, X, S_below, ok = _eliminate_block(S, lower, upper, diag_below)
    return X, S_below, ok


@filter_jit
def _stream_finish(S0, Xs, ok, throw):
    p0, ok0 = GTH().primal(S0)
    return _labelled(_back_substitute(p0, list(Xs)), ok & ok0, throw)


def streamed_block_bytes(sizes: tuple[int, ...]) -> int:
    """Peak bytes (float64) that :func:`stationary_block_tridiagonal_streamed` holds for
    blocks of ``sizes``: every ``X_k`` (kept for the back substitution) plus the largest
    single elimination step (the rate blocks it is given, ``S``, ``T``, its LU, ``X``)."""
    sizes = tuple(check_int(d, "sizes", 1) for d in sizes)
    kept = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    step = max(
        (4 * b * b + 3 * a * b + 2 * a * a for a, b in zip(sizes[:-1], sizes[1:], strict=True)),
        default=3 * sizes[0] ** 2,
    )
    return 8 * (kept + step)


def stationary_block_tridiagonal_streamed(
    blocks: Callable[[int], tuple[Array, Array | None, Array | None]],
    sizes: tuple[int, ...],
    *,
    throw: bool = True,
) -> Stationary:
    """:func:`stationary_block_tridiagonal` for chains whose rate blocks do not fit in
    memory together: the blocks are asked for one at a time and dropped once used.

    ``blocks(k)`` returns ``(diag_k, lower_k, upper_k)`` (the rates inside block ``k``,
    ``k → k+1`` of shape ``(d_{k+1}, d_k)`` and ``k+1 → k`` of shape ``(d_k, d_{k+1})``; the
    last two ``None`` for ``k = K``). It is called exactly once for each ``k``, in the order
    ``K, K-1, ..., 0``, so a caller can build block ``k`` from data it keeps for ``k+1``
    only (e.g. the eigenvectors of two neighbouring sectors). ``sizes``: the block
    dimensions ``(d_0, ..., d_K)``.

    The same elimination as :func:`stationary_block_tridiagonal` (same step, same back
    substitution: the two agree to rounding), one jitted step per block on the host; it
    holds the ``X_k`` (``Σ d_k d_{k-1}`` numbers) and one step's blocks
    (:func:`streamed_block_bytes`, checked before the first call to ``blocks``). Not
    differentiable (use :func:`stationary_block_tridiagonal` for gradients) and not
    traceable (``blocks`` must return concrete arrays).

    Checks: shapes of every block (``ValueError``); ``throw=True``: NaN/inf or negative rates
    raise ``ValueError``, a failed elimination raises (``reducible``). ``throw=False``: bad
    rates give ``p`` NaN with ``result = invalid_input``.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> z = jnp.zeros((1, 1))
        >>> up, down = jnp.array([[2.0]]), jnp.array([[1.0]])  # rates 0 → 1 and 1 → 0
        >>> fn = lambda k: (z, None, None) if k == 1 else (z, up, down)
        >>> st = jaxspin.stationary_block_tridiagonal_streamed(fn, (1, 1))
        >>> [round(float(x), 12) for x in st.p]
        [0.333333333333, 0.666666666667]
    """
    sizes = tuple(check_int(d, "sizes", 1) for d in sizes)
    if not sizes:
        raise ValueError("`sizes` must name at least one block.")
    throw = check_flag(throw, "throw")
    K = len(sizes) - 1
    check_fits(
        streamed_block_bytes(sizes),
        f"streamed block-tridiagonal stationary solve (blocks {sizes})",
    )
    bad = False

    def get(k):
        nonlocal bad
        out = blocks(k)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise TypeError(f"`blocks({k})` must return a tuple (diag, lower, upper).")
        want = [(sizes[k], sizes[k])]
        if k < K:
            want += [(sizes[k + 1], sizes[k]), (sizes[k], sizes[k + 1])]
        if k == K and (out[1] is not None or out[2] is not None):
            raise ValueError(f"`blocks({K})` must return lower = upper = None (last block).")
        names = ("diag", "lower", "upper")[: len(want)]
        got = []
        for a, shape, name in zip(out[: len(want)], want, names, strict=True):
            a = None if a is None else as_real(a, f"blocks({k}).{name}", ndim_min=2)
            if a is None or a.shape != shape:
                raise ValueError(
                    f"`blocks({k})`: `{name}` must have shape {shape}; got "
                    f"{None if a is None else a.shape}."
                )
            if throw:
                _check_rates(a, f"blocks({k}).{name}")
            else:
                bad = bad or bool(bad_input(a, nonnegative=True))
            got.append(a)
        return got + [None] * (3 - len(got))

    S = _offdiag(get(K)[0])
    Xs = [None] * K
    ok = jnp.asarray(True)
    for k in range(K - 1, -1, -1):
        diag, lower, upper = get(k)
        Xs[k], S, ok_k = _stream_step(S, lower, upper, diag)
        ok = ok & ok_k
        del diag, lower, upper
    st = _stream_finish(S, tuple(Xs), ok, throw and not bad)
    if bad:
        return _flag_invalid(st, jnp.asarray(True))
    return st


_BLOCK_FAILED = (
    "relaxation_rates_block_tridiagonal: the block elimination failed (the chain is "
    "reducible, or a state of block k >= 1 is absorbing for the chain on blocks 0..k), so the "
    "group inverse it iterates on is not available; use relaxation_rates(rates.dense())."
)


def relaxation_rates_block_tridiagonal(
    rates: BlockTridiagonalRates,
    k: int = 1,
    *,
    iterations: int = 40,
    extra: int = 6,
    throw: bool = True,
) -> Float[Array, " k"]:
    """The ``k`` slowest relaxation rates ``-Re λ`` of a block-tridiagonal chain (one problem).

    Subspace iteration with ``k + extra`` vectors on the group inverse ``G^#`` (applied
    with the block elimination of :func:`stationary_block_tridiagonal`, never a dense
    matrix), then Rayleigh-Ritz: the eigenvalues of smallest modulus ``|λ|`` converge
    first, at the rate ``|λ_k / λ_{k+extra+1}|`` per iteration. Returns them ordered by
    ``-Re λ``. For a dense check on small chains use :func:`relaxation_rates`. Not meant
    for differentiation (no implicit rule; autodiff would unroll the iteration). The
    Ritz values of the small ``(k + extra)²`` matrix come from
    :func:`jaxspin._eigvals.eigvals` (LAPACK on the CPU, device code on a GPU).

    Checks: block shapes, no batch dimensions (``vmap`` to batch), Python ints
    ``1 ≤ k ≤ n − 1``, ``iterations ≥ 1``, ``extra ≥ 0`` (``ValueError``); memory. Rates
    finite and ``≥ 0`` (``ValueError`` when concrete, a run-time error when traced); a
    failed block elimination (reducible chain, all-zero rates) is a run-time error.
    ``throw=False``: either gives NaN rates for this point instead.
    """
    _check_blocks(rates)
    args, names, _ = _block_args(rates)
    for a, name in zip(args, names, strict=True):
        if a.ndim != 2:
            raise ValueError(
                f"`rates` must hold one problem (use jax.vmap to batch); `{name}` has shape "
                f"{a.shape}."
            )
    n = sum(rates.sizes)
    if n < 2:
        raise ValueError("`rates` has one state: a chain of one state has no relaxation rates.")
    k = check_int(k, "k", 1, n - 1, f" (the chain has {n} states)")
    iterations = check_int(iterations, "iterations", 1)
    extra = check_int(extra, "extra", 0)
    throw = check_flag(throw, "throw")
    m = min(k + extra, n - 1)
    check_fits(
        _block_bytes(rates.sizes) + 8 * 8 * n * m,
        f"block-tridiagonal relaxation rates (blocks {rates.sizes}, {m} vectors)",
    )
    if throw:
        checked = [_check_rates(a, name) for a, name in zip(args, names, strict=True)]
        rates = BlockTridiagonalRates(*_unpack(checked, len(rates.diag) - 1))
    return _relaxation_rates_block(rates, k, m, iterations, throw)


@filter_jit
def _relaxation_rates_block(rates, k, m, iterations, throw):
    args, names, K = _block_args(rates)
    blocks, bad = _screened(args, names, throw, False)
    diag, lower, upper = _unpack(blocks, K)
    fac = _block_factorize(diag, lower, upper)
    n = sum(rates.sizes)
    dtype = diag[0].dtype

    def ginv(Q):
        Q = Q - fac.p[:, None] * jnp.sum(Q, axis=0)
        return fac.solve(Q)

    Q = jax.random.normal(jax.random.PRNGKey(0), (n, m), dtype)
    Q, _ = jnp.linalg.qr(ginv(Q))

    def step(_, Q):
        Q, _ = jnp.linalg.qr(ginv(Q))
        return Q

    Q = jax.lax.fori_loop(0, iterations, step, Q)
    H = Q.T @ ginv(Q)
    mu = eigvals(H)
    lam = 1.0 / mu[jnp.argsort(-jnp.abs(mu))][:k]
    out = jnp.sort(-jnp.real(lam))
    failed = ~fac.ok | ~jnp.all(jnp.isfinite(out))
    if throw:
        return error_if(out, failed, _BLOCK_FAILED)
    return jnp.where(bad | failed, jnp.nan, out)
