"""Exact-in-time evolution of linear, time-independent, symmetric problems: ``u^T exp(L t) v``.

The discretised diffusion operators of [Gong11] (the lattice master equation Eq. (17) with
symmetric rates, the conservative PDE, and the symmetrised form of ``D ∇² P``) are real
symmetric and negative semidefinite. For such an ``L`` the observable
``h(t) = u^T exp(L t) v`` (the Overhauser field ``Σ_k A_k <I^z_k(t)>``) follows at *every*
``t`` from one eigen-decomposition, with no time stepping:

* :class:`Krylov` -- ``num_steps`` Lanczos steps from ``v`` (matrix-free: one operator
  application per step, O(n) memory), then the exact decomposition of the small
  tridiagonal matrix (Gauss quadrature of the spectral measure of ``v``). For the smooth
  initial profiles of the paper ~100-300 steps give 1e-8 relative accuracy up to hours.
* :class:`Eigen` -- dense ``eigh`` of the materialised operator (n up to a few thousand).
* :class:`ODE` -- :func:`jaxspin.odesolve` (Kvaerno5, an L-stable implicit Runge-Kutta
  method), for checking the other two (dense Jacobian: small n).

The spectral formula ``h(t) = Σ_n (u·y_n)(v·y_n) exp(θ_n t)`` is differentiated with the
Daleckii-Krein formula (divided differences of ``exp(θ t)``, stable for close or equal
eigenvalues) rather than through ``eigh``'s eigenvectors, so gradients stay finite when
Ritz values nearly coincide.
"""

import abc
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import error_if
from .._evolve import odesolve
from .._inputs import check_int, check_value
from .._memory import check_fits


def _count(x, name: str) -> int:
    return check_int(x, name, 1)


def _tolerance(x, name: str) -> None:
    if not (isinstance(x, int | float) and math.isfinite(x) and x > 0):
        raise ValueError(f"`{name}` must be a finite number > 0; got {x!r}.")


def _vectors(u, v, ts=None):
    """Shapes of a quadratic form ``u^T f(L) v``: ``u``, ``v`` ``(n,)`` with ``n >= 1``."""
    if v.ndim != 1 or v.shape[0] == 0 or u.shape != v.shape:
        raise ValueError(
            f"`u` and `v` must have the same shape (n,), n >= 1; got {u.shape}, {v.shape}."
        )
    if ts is not None and ts.ndim != 1:
        raise ValueError(f"`ts` must be 1-D; got shape {ts.shape}.")


Matvec = Callable[[Float[Array, " n"]], Float[Array, " n"]]


# ----------------------------------------------------------------------------------------
# u^T exp(T t) v for a small symmetric T, with a stable JVP
# ----------------------------------------------------------------------------------------
def _exprel_neg(x):
    """``(1 - exp(-x)) / x`` for ``x >= 0`` (1 at 0), without cancellation."""
    small = x < 1e-8
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - x / 2, -jnp.expm1(-safe) / safe)


def _divided_exp(theta, t):
    """``Φ_ij = (e^{θ_i t} - e^{θ_j t}) / (θ_i - θ_j)`` (``t e^{θ_i t}`` on the diagonal)."""
    hi = jnp.maximum(theta[:, None], theta[None, :])
    gap = jnp.abs(theta[:, None] - theta[None, :])
    return t * jnp.exp(hi * t) * _exprel_neg(gap * t)


@jax.custom_jvp
def spectral_form(
    T: Float[Array, "m m"], a: Float[Array, " m"], b: Float[Array, " m"], ts: Float[Array, " k"]
) -> Float[Array, " k"]:
    """``a^T expm(T t) b`` at every ``t`` in ``ts`` for a real symmetric ``T`` (one
    ``eigh``; derivatives by the Daleckii-Krein formula)."""
    theta, V = jnp.linalg.eigh(T)
    w = (V.T @ a) * (V.T @ b)
    return jnp.exp(ts[:, None] * theta[None, :]) @ w


@spectral_form.defjvp
def _spectral_form_jvp(primals, tangents):
    T, a, b, ts = primals
    dT, da, db, dts = tangents
    theta, V = jnp.linalg.eigh(T)
    at, bt = V.T @ a, V.T @ b
    E = jnp.exp(ts[:, None] * theta[None, :])  # (k, m)
    out = E @ (at * bt)
    dTt = V.T @ ((dT + dT.T) / 2) @ V
    dat, dbt = V.T @ da, V.T @ db
    tangent = E @ (dat * bt + at * dbt)
    tangent = tangent + dts * (E @ (theta * at * bt))
    weighted = at[:, None] * dTt * bt[None, :]
    one = jax.vmap(lambda t: jnp.sum(_divided_exp(theta, t) * weighted))
    # Chunks of at most ~2**21 entries of Φ (16 MiB), as an unrolled loop of vmaps: a
    # ``lax.map``/``scan`` over a tangent here cannot be transposed by jax 0.9 (grad fails
    # with "ValAccum ... passed to scan"), and one vmap over all ts would hold k m² numbers.
    step = max(1, 2**21 // max(theta.size**2, 1))
    k = ts.shape[0]
    tangent = tangent + jnp.concatenate([one(ts[i : i + step]) for i in range(0, k, step)])
    return out, tangent


# ----------------------------------------------------------------------------------------
# Lanczos
# ----------------------------------------------------------------------------------------
def lanczos(
    matvec: Matvec,
    v: Float[Array, " n"],
    u: Float[Array, " n"],
    num_steps: int,
    *,
    reorthogonalize: bool = False,
) -> tuple[Float[Array, "m m"], Float[Array, " m"], Float[Array, ""]]:
    """``num_steps`` Lanczos steps of the symmetric operator ``matvec`` from ``v``.

    Returns ``(T, c, beta0)``: the tridiagonal projection ``T = Q^T L Q``, the projections
    ``c = Q^T u`` and ``beta0 = |v|``, so that ``u^T f(L) v ≈ beta0 c^T f(T) e_1``. Without
    reorthogonalisation (default) only three vectors are kept; the loss of orthogonality in
    floating point produces copies of converged Ritz values, which leave ``f(T)``-quadratures
    accurate (Greenbaum 1989). A breakdown (invariant subspace found, e.g. ``num_steps >= n``)
    zeroes the rest of ``T`` and ``c``, which is exact. Checked: ``v``, ``u`` of one shape
    ``(n,)``, ``num_steps`` an int >= 1.
    """
    v, u = jnp.asarray(v), jnp.asarray(u)
    _vectors(u, v)
    num_steps = _count(num_steps, "num_steps")
    n = v.shape[0]
    beta0 = jnp.linalg.norm(v)
    q0 = v / jnp.where(beta0 > 0, beta0, 1.0)

    def step(carry, _):
        q_prev, q, b_prev, basis, j = carry
        w = matvec(q) - b_prev * q_prev
        alpha = jnp.dot(q, w)
        w = w - alpha * q
        if reorthogonalize:
            basis = basis.at[j].set(q)
            for _ in range(2):
                w = w - basis.T @ (basis @ w)
        b = jnp.linalg.norm(w)
        scale = jnp.abs(alpha) + b_prev + b
        ok = b > 1e-10 * scale  # below: invariant subspace (up to rounding); truncate
        q_next = jnp.where(ok, w / jnp.where(ok, b, 1.0), 0.0)
        b = jnp.where(ok, b, 0.0)
        return (q, q_next, b, basis, j + 1), (alpha, b, jnp.dot(q, u))

    basis = jnp.zeros((num_steps if reorthogonalize else 0, n), v.dtype)
    init = (jnp.zeros_like(v), q0, jnp.zeros((), v.dtype), basis, 0)
    _, (alphas, betas, c) = jax.lax.scan(step, init, None, length=num_steps)
    T = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    return T, c, beta0


# ----------------------------------------------------------------------------------------
# Solver objects
# ----------------------------------------------------------------------------------------
class AbstractPropagator(eqx.Module):
    """How ``h(t) = u^T exp(L t) v`` is computed for a symmetric operator ``L``."""

    @abc.abstractmethod
    def quadratic_form(
        self, matvec: Matvec, u: Float[Array, " n"], v: Float[Array, " n"], ts: Float[Array, " k"]
    ) -> Float[Array, " k"]:
        """``u^T exp(L t) v`` at every ``t`` in ``ts`` (``t >= 0``)."""


class Krylov(AbstractPropagator):
    """Lanczos with ``num_steps`` steps (matrix-free), then the exact spectral formula of the
    projected tridiagonal matrix (``num_steps``: an int >= 1; ``rtol``: ``None`` or > 0).

    Convergence check: the leading ``7/8`` block of the tridiagonal matrix is the result of
    ``7 num_steps / 8`` steps, so comparing the two costs one more small ``eigh``. If they
    differ by more than ``rtol`` times ``max |h|`` the call raises (``rtol=None``: no check);
    raise ``num_steps`` then (it grows like ``sqrt(D_max t_max) / h``: 512 covers the
    paper's fields down to 20 mT on 3-nm cells up to 1e4 s). ``reorthogonalize=True`` keeps
    all Lanczos vectors (``num_steps x n`` memory) and orthogonalises against them.
    """

    num_steps: int = eqx.field(static=True, default=512)
    rtol: float | None = eqx.field(static=True, default=1e-6)
    reorthogonalize: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        _count(self.num_steps, "num_steps")
        if self.rtol is not None:
            _tolerance(self.rtol, "rtol")

    def quadratic_form(self, matvec, u, v, ts):
        _vectors(u, v, ts)
        n = v.shape[0]
        m = min(self.num_steps, n)
        if self.reorthogonalize:
            check_fits(m * n * v.dtype.itemsize, "Lanczos reorthogonalisation")
        T, c, beta0 = lanczos(matvec, v, u, m, reorthogonalize=self.reorthogonalize)
        e1 = jnp.zeros_like(c).at[0].set(1.0)
        h = beta0 * spectral_form(T, c, e1, ts)
        if self.rtol is not None and m >= 16 and m < n:
            k = m - m // 8
            h_short = beta0 * spectral_form(T[:k, :k], c[:k], e1[:k], ts)
            err = jnp.max(jnp.abs(jax.lax.stop_gradient(h - h_short)))
            scale = jnp.max(jnp.abs(jax.lax.stop_gradient(h)))
            h = error_if(
                h,
                err > self.rtol * scale,
                "Krylov: the Lanczos quadrature has not converged to rtol (the results of "
                "num_steps and 7/8 of it differ); increase Krylov(num_steps=...).",
            )
        return h


class Eigen(AbstractPropagator):
    """Dense: materialise ``L`` (``n`` operator applications), one ``eigh``. Exact to
    rounding; ``O(n²)`` memory and ``O(n³)`` time, for ``n`` up to a few thousand."""

    def quadratic_form(self, matvec, u, v, ts):
        _vectors(u, v, ts)
        n = v.shape[0]
        check_fits(4 * n * n * v.dtype.itemsize, f"the dense {n} x {n} operator")
        L = jax.vmap(matvec)(jnp.eye(n, dtype=v.dtype)).T
        return spectral_form((L + L.T) / 2, u, v, ts)


class ODE(AbstractPropagator):
    """Time stepping with :func:`jaxspin.odesolve` (default Kvaerno5, adaptive, dense
    Jacobian in its Newton solves: small ``n`` only). Works for non-symmetric ``L`` too.
    ``rtol``, ``atol`` > 0, ``max_steps`` an int >= 1."""

    rtol: float = eqx.field(static=True, default=1e-10)
    atol: float = eqx.field(static=True, default=1e-12)
    max_steps: int = eqx.field(static=True, default=100_000)

    def __check_init__(self):
        _tolerance(self.rtol, "rtol")
        _tolerance(self.atol, "atol")
        _count(self.max_steps, "max_steps")

    def quadratic_form(self, matvec, u, v, ts):
        """Checked: ``ts`` non-decreasing (``ValueError`` now, or ``eqx.error_if`` when
        traced) and the dense Jacobian's memory (``MemoryBudgetError``)."""
        _vectors(u, v, ts)
        n = v.shape[0]
        check_fits(4 * n * n * v.dtype.itemsize, f"the ODE solver's dense {n} x {n} Jacobian")
        ts = check_value(
            ts, lambda t: jnp.diff(t) < 0, "`ts` must be non-decreasing for the ODE solver."
        )
        t_all = jnp.concatenate([jnp.zeros((1,), ts.dtype), ts])
        traj = odesolve(
            lambda t, y, args: matvec(y),
            v,
            t_all,
            rtol=self.rtol,
            atol=self.atol * jnp.max(jnp.abs(v)),
            max_steps=self.max_steps,
        )
        return traj.ys[1:] @ u
