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
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, Float

from ._batching import map_batched
from ._inputs import as_real, check_finite, check_nonnegative, is_concrete
from ._memory import check_fits


class STATIONARY_RESULTS(eqx.Enumeration):
    """Outcome codes of stationary-distribution solves."""

    successful = ""
    reducible = (
        "The stationary distribution is not unique or not reachable by elimination: the rate "
        "matrix is reducible (some group of states cannot reach the others), or a state has "
        "no outgoing rate to the states eliminated after it."
    )
    nonfinite = "The stationary distribution contains NaN or inf."


def generator(W: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """``G = W_off − diag(column sums of W_off)``, with ``W[j, i]`` the rate ``i → j``."""
    n = W.shape[-1]
    off = W * (1 - jnp.eye(n, dtype=W.dtype))
    return off - jnp.diag(jnp.sum(off, axis=0))


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
    ``O(n³)``. States are censored from the last to the first; a state with no rate to
    the remaining ones (reducible chain) is reported."""

    def primal(self, W):
        n = W.shape[-1]
        # Row convention for the algorithm: Q[i, j] = rate i -> j.
        Q = jnp.transpose(W) * (1 - jnp.eye(n, dtype=W.dtype))
        idx = jnp.arange(n)

        def eliminate(step, carry):
            Q, s_all = carry
            k = n - 1 - step
            lower = idx < k
            s = jnp.sum(jnp.where(lower, Q[k], 0.0))
            col = jnp.where(lower, Q[:, k], 0.0)
            row = jnp.where(lower, Q[k], 0.0)
            safe = jnp.where(s > 0, s, 1.0)
            Q = Q + jnp.outer(col, row) / safe
            return Q, s_all.at[k].set(s)

        Q, s_all = jax.lax.fori_loop(0, n - 1, eliminate, (Q, jnp.zeros(n, W.dtype)))

        def back(k, pi):
            val = jnp.sum(jnp.where(idx < k, pi * Q[:, k], 0.0)) / jnp.where(
                s_all[k] > 0, s_all[k], 1.0
            )
            return pi.at[k].set(val)

        pi = jax.lax.fori_loop(1, n, back, jnp.zeros(n, W.dtype).at[0].set(1.0))
        ok = jnp.all(s_all[1:] > 0)
        return pi / jnp.sum(pi), ok


class DenseLUStationary(AbstractStationarySolver):
    """LU solve of the augmented system ``(G + u 1ᵀ) p = u`` with ``u = 1/n`` (LAPACK);
    about twice as fast as GTH, absolute (not relative) accuracy in small probabilities.
    A pivot below ``rcond`` times the largest entry marks the chain reducible."""

    rcond: float = eqx.field(static=True, default=1e-13)

    def primal(self, W):
        n = W.shape[-1]
        A = generator(W) + jnp.full((n, n), 1.0 / n, W.dtype)
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
        A = generator(W) + jnp.full((n, n), 1.0 / n, W.dtype)
        rhs = -generator(dW) @ p
        dp = lx.linear_solve(lx.MatrixLinearOperator(A), rhs, lx.LU(), throw=False).value
        return (p, ok), (dp, jnp.zeros_like(ok, dtype=jax.dtypes.float0))

    return stationary(W)


class Stationary(eqx.Module):
    """A stationary distribution ``p`` (``(..., n)``) and its ``result`` code."""

    p: Float[Array, "... n"]
    result: STATIONARY_RESULTS


@eqx.filter_jit
def _stationary_jit(W, solver, throw, validate):
    def kernel(W):
        if validate:
            W = check_nonnegative(check_finite(W, "W"), "W")
        p, ok = _stationary_kernel(W, solver)
        finite = jnp.all(jnp.isfinite(p))
        result = STATIONARY_RESULTS.where(
            ok,
            STATIONARY_RESULTS.where(
                finite, STATIONARY_RESULTS.successful, STATIONARY_RESULTS.nonfinite
            ),
            STATIONARY_RESULTS.reducible,
        )
        if throw:
            p = result.error_if(p, result != STATIONARY_RESULTS.successful)
        return Stationary(p, result)

    return map_batched(kernel, [W], [2], ["W"])


def stationary_distribution(
    W, *, solver: AbstractStationarySolver = GTH(), throw: bool = True
) -> Stationary:
    """Unique stationary distribution of the master equation with rates ``W`` (``(..., n, n)``,
    ``W[j, i]`` = rate ``i → j``, ≥ 0).

    ``solver``: :class:`GTH` (default; robust to rates spanning many decades) or
    :class:`DenseLUStationary`. Differentiable (implicit), batched over leading axes.
    Raises (``throw=True``) or returns ``result = reducible`` when the distribution is not
    unique. Returns :class:`Stationary` with ``p`` and ``result``.

    Example:
        >>> import jax.numpy as jnp, jaxspin
        >>> W = jnp.array([[0.0, 1.0], [2.0, 0.0]])  # 0 -> 1 at 2, 1 -> 0 at 1
        >>> [round(float(x), 12) for x in jaxspin.stationary_distribution(W).p]
        [0.333333333333, 0.666666666667]
    """
    W = as_real(W, "W", ndim_min=2)
    if W.shape[-1] != W.shape[-2]:
        raise ValueError(f"`W` must have shape (..., n, n); got {W.shape}.")
    n = W.shape[-1]
    check_fits(6 * 8 * n * n, f"stationary distribution of a {n}-state rate matrix")
    concrete = is_concrete(W)
    if concrete:
        check_nonnegative(check_finite(W, "W"), "W")
    return _stationary_jit(W, solver, throw, not concrete)


@eqx.filter_jit
def relaxation_rates(W: Float[Array, "n n"], k: int = 1) -> Float[Array, " k"]:
    """The ``k`` smallest non-zero relaxation rates ``-Re λ`` of the generator (one problem).

    The eigenvalue closest to zero (the stationary mode) is removed. Uses the dense
    non-symmetric eigensolver (``jnp.linalg.eigvals``; JAX runs it on the CPU).
    """
    lam = jnp.linalg.eigvals(generator(W))
    rates = jnp.sort(-jnp.real(lam))
    return rates[1 : 1 + k]


@eqx.filter_jit
def birth_death_stationary(
    up: Float[Array, " K"], down: Float[Array, " K"], *, log: bool = False
) -> Float[Array, " K+1"]:
    """Stationary distribution of a birth-death chain on states ``0..K``.

    ``up[k]`` is the rate ``k → k+1`` and ``down[k]`` the rate ``k+1 → k`` (both > 0).
    Exact product formula ``p_{k+1}/p_k = up[k]/down[k]`` (detailed balance holds for any
    one-dimensional chain), evaluated in log space so ratios of 1e±300 are fine
    [Latta09, Eq. (12) for each Dicke ladder]. Differentiable; zero or negative rates raise.
    ``log=True`` returns the normalised ``log p`` instead (no underflow: use it when
    probabilities below 1e-308 still matter, e.g. to restrict the chain to a sub-interval
    by renormalising).
    """
    bad = jnp.any(up <= 0) | jnp.any(down <= 0)
    up = eqx.error_if(up, bad, "birth_death_stationary needs strictly positive rates.")
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
        """``p(t)`` from ``p(0) = p0`` after a time ``t ≥ 0`` (in the rates' inverse units)."""
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


@eqx.filter_jit
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
    """
    up = jnp.asarray(up)
    down = jnp.asarray(down)
    if up.ndim != 1 or up.shape != down.shape:
        raise ValueError(f"`up` and `down` must be 1-D of one shape; got {up.shape}, {down.shape}.")
    bad = jnp.any(up < 0) | jnp.any(down < 0) | jnp.any((up > 0) != (down > 0))
    up = eqx.error_if(
        up, bad, "birth_death_modes needs rates >= 0 with up[k] > 0 exactly when down[k] > 0."
    )
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
