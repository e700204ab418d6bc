"""Exact-in-time propagation ``u^T exp(L t) v`` (Lanczos, dense eigh, ODE)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from jaxspin.gong11 import ODE, Eigen, Krylov, lanczos, spectral_form


def _chain(n, seed=0):
    """A random symmetric negative-semidefinite generator (1-D chain with random rates and
    a leak at both ends) and two smooth vectors."""
    rng = np.random.default_rng(seed)
    k = rng.uniform(0.5, 2.0, n + 1)
    L = np.zeros((n, n))
    for i in range(n):
        L[i, i] = -(k[i] + k[i + 1])
        if i + 1 < n:
            L[i, i + 1] = L[i + 1, i] = k[i + 1]
    x = np.linspace(-1, 1, n)
    return L, np.exp(-(x**2) / 0.1), np.exp(-(x**2) / 0.2)


def test_krylov_eigen_and_ode_agree_with_scipy_expm():
    L, u, v = _chain(60)
    ts = jnp.array([0.0, 0.3, 3.0, 30.0, 300.0])
    exact = np.array([u @ scipy.linalg.expm(L * t) @ v for t in np.asarray(ts)])
    mv = lambda p: jnp.asarray(L) @ p
    args = (mv, jnp.asarray(u), jnp.asarray(v), ts)
    np.testing.assert_allclose(Eigen().quadratic_form(*args), exact, rtol=1e-10, atol=1e-12)
    # with full reorthogonalisation n steps span the whole space: exact to rounding
    np.testing.assert_allclose(
        Krylov(60, reorthogonalize=True).quadratic_form(*args), exact, rtol=1e-10, atol=1e-12
    )
    # plain Lanczos loses orthogonality in floating point (ghost Ritz values); the
    # quadrature stays accurate to the level its convergence check asks for
    np.testing.assert_allclose(Krylov(60).quadratic_form(*args), exact, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ODE().quadratic_form(*args), exact, rtol=1e-7, atol=1e-10)


def test_krylov_reports_non_convergence():
    L, u, v = _chain(400, seed=1)
    mv = lambda p: jnp.asarray(L) @ p
    ts = jnp.array([1.0, 1e3])
    with pytest.raises(Exception, match="Krylov"):
        Krylov(16).quadratic_form(mv, jnp.asarray(u), jnp.asarray(v), ts)
    # without the check the (wrong) number is returned
    out = Krylov(16, rtol=None).quadratic_form(mv, jnp.asarray(u), jnp.asarray(v), ts)
    assert bool(jnp.all(jnp.isfinite(out)))


def test_lanczos_projection_and_breakdown():
    L, u, v = _chain(10)
    T, c, beta0 = lanczos(lambda p: jnp.asarray(L) @ p, jnp.asarray(v), jnp.asarray(u), 14)
    # 14 > n: the invariant subspace is found after 10 steps; the rest is zero
    np.testing.assert_allclose(T[10:, :], 0.0, atol=1e-12)
    np.testing.assert_allclose(c[10:], 0.0, atol=1e-12)
    np.testing.assert_allclose(beta0, np.linalg.norm(v))
    # T has the eigenvalues of L
    np.testing.assert_allclose(
        np.sort(np.linalg.eigvalsh(T[:10, :10])), np.linalg.eigvalsh(L), rtol=1e-9
    )


def test_spectral_form_derivative_is_stable_at_degenerate_eigenvalues():
    # T with an exactly repeated eigenvalue: eigh's eigenvector derivative is singular,
    # the Daleckii-Krein formula is not.
    Q = np.linalg.qr(np.random.default_rng(2).normal(size=(5, 5)))[0]
    T = Q @ np.diag([-3.0, -1.0, -1.0, -0.5, -0.1]) @ Q.T
    a, b = np.arange(1.0, 6.0), np.ones(5)
    dT = np.random.default_rng(3).normal(size=(5, 5))
    dT = dT + dT.T
    ts = jnp.array([0.0, 0.7, 4.0])

    def f(s):
        return spectral_form(jnp.asarray(T + s * dT), jnp.asarray(a), jnp.asarray(b), ts)

    jvp = jax.jvp(f, (0.0,), (1.0,))[1]
    exact = lambda s: np.array([a @ scipy.linalg.expm((T + s * dT) * t) @ b for t in ts])
    fd = (exact(1e-6) - exact(-1e-6)) / 2e-6
    np.testing.assert_allclose(jvp, fd, rtol=1e-6, atol=1e-8)
    grad = jax.grad(lambda s: jnp.sum(f(s)))(0.0)
    np.testing.assert_allclose(grad, np.sum(fd), rtol=1e-6)
    # derivative in t
    dt = jax.jvp(
        lambda t: spectral_form(jnp.asarray(T), jnp.asarray(a), jnp.asarray(b), t),
        (ts,),
        (jnp.ones(3),),
    )[1]
    np.testing.assert_allclose(dt, [a @ T @ scipy.linalg.expm(T * t) @ b for t in ts], rtol=1e-9)


def test_krylov_gradient_and_vmap():
    L, u, v = _chain(50, seed=4)
    ts = jnp.array([0.5, 5.0, 50.0])

    def h(scale):
        mv = lambda p: scale * (jnp.asarray(L) @ p)
        return Krylov(50).quadratic_form(mv, jnp.asarray(u), jnp.asarray(v), ts)

    # d/ds u^T exp(s L t) v = t u^T L exp(s L t) v
    exact = [t * u @ L @ scipy.linalg.expm(1.3 * L * t) @ v for t in np.asarray(ts)]
    np.testing.assert_allclose(jax.jacfwd(h)(1.3), exact, rtol=1e-8)
    np.testing.assert_allclose(jax.jacrev(h)(1.3), exact, rtol=1e-8)
    scales = jnp.array([0.5, 1.0, 2.0])
    # batched and looped runs round differently; plain Lanczos amplifies rounding to ~1e-10
    np.testing.assert_allclose(jax.vmap(h)(scales), np.stack([h(s) for s in scales]), rtol=1e-8)
