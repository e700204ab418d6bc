"""How :func:`drag` propagates the Dicke ladders through one dwell: exactly through the
relaxation modes (small baths) or by extrapolated implicit Euler steps (large baths).

During a dwell every ladder ``I`` is a birth-death chain on ``I_z`` with a constant
generator ``G_I`` (tridiagonal, ``dp/dt = G p``, :func:`jaxspin.generator` convention)
and the populations after a dwell ``T`` are ``expm(G_I T) p``.

- :class:`RelaxationModes` (default): one symmetric eigendecomposition per ladder and
  step (:func:`jaxspin.birth_death_modes`), exact for any ``T``. Memory and time
  ``O(L K²)`` and ``O(L K³)`` per step: fine for ``N ≲ 10³``, out of reach at
  ``N = 10⁵`` (``L ≈ 1200`` ladders of ``K ≈ 2400`` states: 55 GB of eigenvectors).
- :class:`ImplicitEuler`: ``n``, ``2n`` and ``4n`` backward-Euler steps
  ``(1 − h G_I) p_{j+1} = p_j`` (tridiagonal solves, ``O(L K)`` per substep), combined by
  Richardson extrapolation into ``r_1 = 2 p_{2n} − p_n`` and ``r_2 = 2 p_{4n} − p_{2n}``
  (second order in ``h = T/n``); the result is ``r_2``. ``1 − h G`` is a
  column-diagonally-dominant M-matrix: the elimination needs no pivoting, every
  backward-Euler step keeps ``p ≥ 0`` and ``Σ p`` exactly and damps the fast modes
  (L-stable), so dwells far longer than the fastest single-flip time are safe (each chain's
  total probability is restored after the extrapolation against rounding). The error
  estimate reported per dwell and step is ``‖r_2 − r_1‖₁`` (three times the asymptotic
  error of ``r_2``: conservative). Propagation by a stochastic matrix contracts the ℓ¹
  norm, so the error of a whole scan is at most the sum of the local ones.
  ``tests/latta09/test_propagators.py`` checks both against the exact modes and dense
  ``expm``.

Both act on ``(D, L, K)`` populations (``D`` dwell times, each its own run) with one set of
rates ``(L, K)`` and return the new populations and the error estimate ``(D,)``.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._ratematrix import birth_death_modes


class AbstractLadderPropagator(eqx.Module):
    """How the ladders are propagated through a dwell (see the module docstring)."""

    @abc.abstractmethod
    def nbytes(self, num_ladders: int, num_m: int, num_dwells: int) -> int:
        """Peak memory [bytes] of one step for ``L`` ladders of ``K`` states, ``D`` dwells."""

    @abc.abstractmethod
    def evolve(
        self,
        up: Float[Array, "L K"],
        down: Float[Array, "L K"],
        p: Float[Array, "D L K"],
        times: Float[Array, " D"],
    ) -> tuple[Float[Array, "D L K"], Float[Array, " D"]]:
        """Populations after the dwells ``times`` [ħ/µeV, i.e. the rates' inverse unit]
        from ``p``, with rates ``up[l, k]`` (``m_k → m_k + 1``) and ``down[l, k]``
        (``m_k → m_k − 1``) [µeV]; and the ℓ¹ error estimate of each dwell."""


class RelaxationModes(AbstractLadderPropagator):
    """Exact propagation through the ladders' relaxation modes
    (:func:`jaxspin.birth_death_modes`; one decomposition serves every dwell time).
    Error estimate: 0 (exact up to rounding, see :attr:`jaxspin.BirthDeathModes.amplification`).
    """

    def nbytes(self, num_ladders, num_m, num_dwells):
        # generator + eigenvectors + workspace per ladder, plus the populations per dwell
        return 8 * (3 * num_ladders * num_m**2 + 4 * num_dwells * num_ladders * num_m)

    def evolve(self, up, down, p, times):
        modes = jax.vmap(birth_death_modes)(up[:, :-1], down[:, 1:])
        one = jax.vmap(lambda mo, q, t: mo.propagate(q, t), in_axes=(0, 0, None))
        p = jax.vmap(lambda q, t: one(modes, q, t))(p, times)
        return jnp.clip(p, 0.0, None), jnp.zeros(times.shape, p.dtype)


class ImplicitEuler(AbstractLadderPropagator):
    """``n``, ``2n`` and ``4n`` backward-Euler substeps per dwell, Richardson-extrapolated
    (``substeps = n``, static; see the module docstring). Error estimate ``‖r_2 − r_1‖₁``
    per dwell. Cost ``7n`` batched tridiagonal solves of ``D L`` chains of ``K`` states per
    step; memory up to about 32 arrays of ``D L K`` float64 (:meth:`nbytes`; the three
    levels' factors and scan buffers may be live at once).

    Example:
        >>> from jaxspin.latta09 import ImplicitEuler
        >>> ImplicitEuler(substeps=8).substeps
        8
    """

    substeps: int = eqx.field(static=True)

    def __init__(self, substeps: int = 4):
        if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
            raise ValueError(f"`substeps` must be a positive integer; got {substeps!r}.")
        self.substeps = substeps

    def nbytes(self, num_ladders, num_m, num_dwells):
        return 8 * 32 * num_dwells * num_ladders * num_m

    def evolve(self, up, down, p, times):
        D, L, K = p.shape
        zero = jnp.zeros((L, 1), up.dtype)
        out_rate = (up + down).T  # (K, L): total rate out of m_k
        into_from_below = jnp.concatenate([zero, up[:, :-1]], axis=1).T  # m_{k-1} -> m_k
        into_from_above = jnp.concatenate([down[:, 1:], zero], axis=1).T  # m_{k+1} -> m_k
        q0 = jnp.moveaxis(p, 2, 0).reshape(K, D * L)  # (K, D·L): one column per chain

        def run(n):
            h = jnp.repeat(times / n, L)[None, :]  # (1, D·L)
            lower = -h * jnp.tile(into_from_below, (1, D))
            upper = -h * jnp.tile(into_from_above, (1, D))
            diag = 1.0 + h * jnp.tile(out_rate, (1, D))
            cp, inv = _tridiagonal_factor(lower, diag, upper)
            return jax.lax.fori_loop(0, n, lambda _, q: _tridiagonal_solve(lower, cp, inv, q), q0)

        n = self.substeps
        e1, e2, e4 = run(n), run(2 * n), run(4 * n)
        r1, r2 = 2.0 * e2 - e1, 2.0 * e4 - e2  # Richardson: second order in h
        err = jnp.sum(jnp.abs(r2 - r1).reshape(K, D, L), axis=(0, 2))
        q = jnp.clip(r2, 0.0, None)
        # Σ p is conserved exactly in exact arithmetic; restore it against the rounding of
        # the elimination (relative ~1e-16 · h · rate, i.e. ~1e-11 for the stiffest dwells)
        mass, kept = jnp.sum(q0, axis=0), jnp.sum(q, axis=0)
        q = q * jnp.where(kept > 0, mass / jnp.where(kept > 0, kept, 1.0), 1.0)
        return jnp.moveaxis(q.reshape(K, D, L), 0, 2), err


def _tridiagonal_factor(lower, diag, upper):
    """Forward elimination (no pivoting) of the tridiagonal systems whose rows ``k`` read
    ``lower[k] x[k−1] + diag[k] x[k] + upper[k] x[k+1]``, one per column of the ``(K, B)``
    arrays: ``(c', 1/denominator)``, each ``(K, B)``."""

    def f(c_prev, row):
        lo, di, up = row
        inv = 1.0 / (di - lo * c_prev)
        c = up * inv
        return c, (c, inv)

    _, (cp, inv) = jax.lax.scan(f, jnp.zeros_like(diag[0]), (lower, diag, upper), unroll=8)
    return cp, inv


def _tridiagonal_solve(lower, cp, inv, b):
    """Solve with the factors of :func:`_tridiagonal_factor` for ``b`` ``(K, B)``."""

    def forward(d_prev, row):
        lo, i, bb = row
        d = (bb - lo * d_prev) * i
        return d, d

    def backward(x_next, row):
        c, d = row
        x = d - c * x_next
        return x, x

    _, dp = jax.lax.scan(forward, jnp.zeros_like(b[0]), (lower, inv, b), unroll=8)
    _, x = jax.lax.scan(backward, jnp.zeros_like(b[0]), (cp, dp), reverse=True, unroll=8)
    return x
