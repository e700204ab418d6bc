"""Eigenvalues of a dense real non-symmetric matrix, on any device.

``jnp.linalg.eigvals`` is LAPACK's ``geev``. On a GPU, JAX runs it on the host
(custom call ``cuhybrid_eig_real``): every call copies the matrix to host memory and back,
a synchronisation inside any jitted loop or sweep. :func:`eigvals` keeps LAPACK on the CPU
and on every other platform runs :func:`eigvals_qr`, the textbook algorithm written as
array operations that XLA compiles for any device (Golub & Van Loan, *Matrix
Computations*, 4th ed., Sec. 7.4-7.5; LAPACK ``dgebal`` and ``zlahqr``):

1. *balancing*: a diagonal similarity by powers of two (exact in floating point) that
   makes the off-diagonal norm of each row and column about equal, as ``geev`` does
   first; it matters for rate matrices whose rates span many decades;
2. Householder reduction to upper Hessenberg form;
3. the shifted QR iteration in complex arithmetic, ``H - μ 1 = Q R``, ``H ← R Q + μ 1``,
   with the Wilkinson shift (the eigenvalue of the trailing unreduced 2 × 2 block nearer
   its last diagonal entry; an ad hoc shift after every 10 iterations without deflation,
   as in ``zlahqr``), and every subdiagonal entry ``|h_{j,j-1}| ≤ eps (|h_{j-1,j-1}| +
   |h_jj|)`` set to zero.

Every step is a unitary similarity or an exact scaling, and what is dropped (entries
below the subdiagonal, deflated subdiagonals) is at the rounding level, so the computed
eigenvalues are those of a matrix within a small multiple of ``eps ‖A‖`` of the balanced
``A``: the backward error of ``geev``. One QR step is one dense QR of the whole matrix
(cuSOLVER ``geqrf``/``orgqr`` on a GPU), ``O(n³)``: when the bottom block is unreduced and
the rows below it are already triangular, the QR factor is block diagonal, so the bottom
block takes exactly its own shifted step. About three steps per eigenvalue (2.6 to 3.5
measured on random and rate matrices, n = 10 to 80) make ``O(n⁴)`` in all: meant for the
small dense matrices of relaxation-rate checks (``n`` up to a few hundred).

Derivatives (both modes, on every platform) are those of simple eigenvalues,
``dλ_i = w_iᵀ dA x_i / (w_iᵀ x_i)`` with the right and left eigenvectors ``x_i``, ``w_i``
from two steps of inverse iteration at ``λ_i`` (one complex LU per eigenvalue); nothing
is differentiated through the iteration. Like ``jnp.linalg.eig``'s they are not defined
at a multiple eigenvalue.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float


@jax.custom_jvp
def eigvals(a: Float[Array, "n n"]) -> Complex[Array, " n"]:
    """All eigenvalues of the real square ``a`` (one problem; ``vmap`` to batch), in no
    particular order: LAPACK ``geev`` when lowered for the CPU, :func:`eigvals_qr` for any
    other platform (chosen when the program is lowered, by ``jax.lax.platform_dependent``).
    Differentiable (module docstring)."""
    return jax.lax.platform_dependent(a, cpu=jnp.linalg.eigvals, default=eigvals_qr)


def _eigenvectors(a: Complex[Array, "n n"], lam: Complex[Array, " n"]) -> Complex[Array, "n n"]:
    """Row ``i``: an eigenvector of ``a`` at ``lam[i]``, by two steps of inverse iteration
    (the shift moved by ``eps |a|`` so that the LU never meets an exact zero pivot)."""
    n = a.shape[0]
    eps = jnp.finfo(a.real.dtype).eps
    shift = lam + (eps * jnp.max(jnp.abs(a))).astype(a.dtype) * (1 + 1j)
    start = jnp.linspace(1.0, 2.0, n).astype(a.dtype)  # not orthogonal to any eigenvector
    eye = jnp.eye(n, dtype=a.dtype)

    def unit(v):
        return v / jnp.linalg.norm(v).astype(v.dtype)

    def one(mu):
        factors = jax.scipy.linalg.lu_factor(a - mu * eye)
        v = jax.scipy.linalg.lu_solve(factors, start)
        return unit(jax.scipy.linalg.lu_solve(factors, unit(v)))

    return jax.vmap(one)(shift)


@eigvals.defjvp
def _eigvals_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    lam = eigvals(a)
    ac = a.astype(lam.dtype)
    right, left = _eigenvectors(ac, lam), _eigenvectors(ac.T, lam)
    da = da.astype(lam.dtype)
    dlam = jnp.einsum("ij,jk,ik->i", left, da, right) / jnp.sum(left * right, axis=1)
    return lam, dlam


def _balance(a: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """``D⁻¹ a D`` with ``D`` diagonal, powers of two, equalising the off-diagonal 1-norms
    of row and column ``i`` for every ``i`` (LAPACK ``dgebal``'s scaling, without its
    permutation step)."""
    n = a.shape[0]
    idx = jnp.arange(n)

    def one(i, carry):
        a, changed = carry
        off = idx != i
        c = jnp.sum(jnp.where(off, jnp.abs(a[:, i]), 0.0))
        r = jnp.sum(jnp.where(off, jnp.abs(a[i, :]), 0.0))
        ok = (c > 0) & (r > 0)
        ratio = jnp.where(ok, r, 1.0) / jnp.where(ok, c, 1.0)
        f = jnp.exp2(jnp.round(0.5 * jnp.log2(ratio)))
        apply = ok & (c * f + r / f < 0.95 * (c + r))
        f = jnp.where(apply, f, 1.0)
        a = a.at[:, i].multiply(f).at[i, :].divide(f)
        return a, changed | apply

    def sweep(carry):
        a, _, count = carry
        a, changed = jax.lax.fori_loop(0, n, one, (a, jnp.asarray(False)))
        return a, changed, count + 1

    keep_going = lambda carry: carry[1] & (carry[2] < 64)
    a, _, _ = jax.lax.while_loop(keep_going, sweep, (a, jnp.asarray(True), 0))
    return a


def _hessenberg(a: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """An upper Hessenberg matrix orthogonally similar to ``a`` (Householder)."""
    n = a.shape[0]
    idx = jnp.arange(n)

    def step(k, a):
        x = jnp.where(idx > k, a[:, k], 0.0)
        sign = jnp.where(a[k + 1, k] >= 0, 1.0, -1.0)
        v = x.at[k + 1].add(sign * jnp.sqrt(jnp.sum(x * x)))
        vv = jnp.sum(v * v)
        beta = jnp.where(vv > 0, 2.0 / jnp.where(vv > 0, vv, 1.0), 0.0)
        a = a - beta * jnp.outer(v, v @ a)
        return a - beta * jnp.outer(a @ v, v)

    return jnp.triu(jax.lax.fori_loop(0, n - 2, step, a), -1)


def eigvals_qr(a: Float[Array, "n n"], max_iter: int | None = None) -> Complex[Array, " n"]:
    """All eigenvalues of the real square ``a`` by balancing, Hessenberg reduction and the
    shifted QR iteration (module docstring), in array operations only. NaN everywhere if
    the iteration has not converged after ``max_iter`` (default ``30 max(n, 10)``) steps
    (and so for NaN/inf input). Checks (``ValueError``): ``a`` real and square, ``max_iter``
    an int ``≥ 1``."""
    a = jnp.asarray(a)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"`a` must have shape (n, n); got {a.shape}.")
    if not jnp.issubdtype(a.dtype, jnp.floating):
        raise ValueError(f"`a` must be a real floating-point matrix; got dtype {a.dtype}.")
    if max_iter is not None and (
        isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1
    ):
        raise ValueError(f"`max_iter` must be an int >= 1; got {max_iter!r}.")
    n = a.shape[0]
    h = jax.lax.complex(a, jnp.zeros_like(a))
    if n < 2:
        return jnp.diagonal(h)
    h = _hessenberg(_balance(a))
    h = jax.lax.complex(h, jnp.zeros_like(h))
    max_iter = 30 * max(n, 10) if max_iter is None else max_iter
    real = a.dtype
    eps, tiny = jnp.finfo(real).eps, jnp.finfo(real).tiny
    scale = jnp.max(jnp.abs(h))
    eye = jnp.eye(n, dtype=h.dtype)
    rows = jnp.arange(1, n)  # h[rows[i], rows[i] - 1] is subdiagonal entry i

    def deflate(h):
        s, d = jnp.diagonal(h, -1), jnp.abs(jnp.diagonal(h))
        test = d[:-1] + d[1:]
        small = jnp.abs(s) <= jnp.maximum(eps * jnp.where(test > 0, test, scale), tiny)
        return jnp.where(jnp.diag(small, -1), jnp.zeros_like(h), h), ~small

    def qr_step(carry):
        h, count, since, last_hi, active = carry
        hi = jnp.max(jnp.where(active, rows, 0))  # bottom of the last unreduced block
        since = jnp.where(hi == last_hi, since + 1, 0)
        p, q = h[hi - 1, hi - 1], h[hi - 1, hi]
        r, d = h[hi, hi - 1], h[hi, hi]
        half = 0.5 * (p - d)
        root = jnp.sqrt(half * half + q * r)
        den = jnp.where(jnp.abs(half + root) >= jnp.abs(half - root), half + root, half - root)
        mu = jnp.where(den != 0, d - q * r / jnp.where(den != 0, den, 1.0), d)
        ad_hoc = d + (0.75 * jnp.abs(r)).astype(h.dtype)
        mu = jnp.where((since > 0) & (since % 10 == 0), ad_hoc, mu)
        qq, rr = jnp.linalg.qr(h - mu * eye)
        h, active = deflate(jnp.triu(rr @ qq + mu * eye, -1))
        return h, count + 1, since, hi, active

    h, active = deflate(h)
    zero = jnp.zeros((), rows.dtype)
    carry = (h, zero, zero, zero, active)
    running = lambda carry: jnp.any(carry[4]) & (carry[1] < max_iter)
    h, _, _, _, active = jax.lax.while_loop(running, qr_step, carry)
    lam = jnp.diagonal(h)
    return jnp.where(jnp.any(active), jnp.full_like(lam, jnp.nan), lam)
