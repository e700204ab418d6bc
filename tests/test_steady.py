import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin

from .helpers import qutip_steadystate, random_lindblad


def _check_density_matrix(rho, atol=1e-12):
    np.testing.assert_allclose(jnp.trace(rho), 1.0, atol=atol)
    np.testing.assert_allclose(rho, jnp.conj(rho.T), atol=atol)
    assert float(jnp.min(jnp.linalg.eigvalsh(rho))) > -atol


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_lindbladians_match_qutip(n, seed):
    rng = np.random.default_rng(100 * n + seed)
    H, jumps = random_lindblad(rng, n, k=1 + seed)
    ss = jaxspin.steadystate(H, jumps)
    ref = qutip_steadystate(H, jumps)
    np.testing.assert_allclose(ss.rho, ref, atol=1e-10, rtol=0)
    _check_density_matrix(ss.rho)
    assert bool(ss.result == jaxspin.RESULTS.successful)


@pytest.mark.parametrize("n", [3, 6, 12])
def test_iterative_matches_dense(n):
    rng = np.random.default_rng(7 + n)
    H, jumps = random_lindblad(rng, n, k=2)
    dense = jaxspin.steadystate(H, jumps).rho
    it = jaxspin.steadystate(H, jumps, solver=jaxspin.Iterative()).rho
    np.testing.assert_allclose(it, dense, atol=1e-9)
    if n <= 8:
        np.testing.assert_allclose(dense, qutip_steadystate(H, jumps), atol=1e-10)


def two_level(delta, omega, gamma):
    """Resonance fluorescence: H = delta |e><e| + omega/2 (|e><g| + |g><e|), c = sqrt(gamma)|g><e|.
    Basis (g, e)."""
    H = jnp.array([[0.0, omega / 2], [omega / 2, delta]], dtype=complex)
    c = jnp.array([[0.0, jnp.sqrt(gamma)], [0.0, 0.0]], dtype=complex)
    return H, c


def rho_ee_exact(delta, omega, gamma):
    return (omega**2 / 4) / (delta**2 + gamma**2 / 4 + omega**2 / 2)


def test_two_level_closed_form_batched():
    deltas = jnp.linspace(-5, 5, 101)
    H, c = jax.vmap(lambda d: two_level(d, 1.3, 0.7))(deltas)
    ss = jaxspin.steadystate(H, c[:, None])  # (101, k=1, 2, 2)
    np.testing.assert_allclose(ss.rho[:, 1, 1].real, rho_ee_exact(deltas, 1.3, 0.7), rtol=1e-12)
    # Im rho_eg = -(omega gamma / 4) / (...)  (absorption), Re rho_eg = -(omega delta / 2)/(...)
    denom = deltas**2 + 0.7**2 / 4 + 1.3**2 / 2
    np.testing.assert_allclose(ss.rho[:, 1, 0].imag, -1.3 * 0.7 / 4 / denom, rtol=1e-12)
    np.testing.assert_allclose(ss.rho[:, 1, 0].real, -1.3 * deltas / 2 / denom, atol=1e-13)


def test_rates_give_gibbs_state_at_detailed_balance():
    """Incoherent rates obeying detailed balance (no drive) relax to the Gibbs state."""
    energies = jnp.array([0.0, 0.4, 1.1, 1.5])
    beta = 1.7
    n = energies.size
    base = jnp.array(np.random.default_rng(5).uniform(0.1, 1.0, size=(n, n)))
    base = base + base.T
    # W[j, i] = base_ji * exp(-beta (E_j - E_i)/2): W[j,i]/W[i,j] = exp(-beta (E_j - E_i))
    W = base * jnp.exp(-beta * (energies[:, None] - energies[None, :]) / 2)
    W = W * (1 - jnp.eye(n))
    ss = jaxspin.steadystate(jnp.diag(energies).astype(complex), rates=W)
    gibbs = jnp.exp(-beta * energies) / jnp.sum(jnp.exp(-beta * energies))
    np.testing.assert_allclose(jnp.diagonal(ss.rho).real, gibbs, rtol=1e-12)
    np.testing.assert_allclose(ss.rho - jnp.diag(jnp.diagonal(ss.rho)), 0, atol=1e-14)


class TestGradients:
    def obs(self, params):
        delta, omega, gamma = params
        H, c = two_level(delta, omega, gamma)
        return jaxspin.steadystate(H, [c]).rho[1, 1].real

    def test_grad_matches_closed_form_and_fd(self):
        p = jnp.array([0.3, 1.1, 0.6])
        g = jax.grad(self.obs)(p)
        exact = jax.grad(lambda q: rho_ee_exact(*q))(p)
        np.testing.assert_allclose(g, exact, rtol=1e-10)
        eps = 1e-6
        fd = jnp.array(
            [(self.obs(p + eps * e) - self.obs(p - eps * e)) / (2 * eps) for e in jnp.eye(3)]
        )
        np.testing.assert_allclose(g, fd, rtol=1e-7)

    def test_jvp_vmap_of_grad_and_grad_of_vmap(self):
        p = jnp.array([0.3, 1.1, 0.6])
        _, tangent = jax.jvp(self.obs, (p,), (jnp.array([1.0, 0.0, 0.0]),))
        np.testing.assert_allclose(tangent, jax.grad(self.obs)(p)[0], rtol=1e-10)
        ps = jnp.stack([p, p * 1.3, p * 0.7])
        vg = jax.vmap(jax.grad(self.obs))(ps)
        for i in range(3):
            np.testing.assert_allclose(vg[i], jax.grad(self.obs)(ps[i]), rtol=1e-12)
        gv = jax.grad(lambda q: jnp.sum(jax.vmap(self.obs)(q)))(ps)
        np.testing.assert_allclose(gv, vg, rtol=1e-12)

    def test_grad_with_respect_to_jump_operators_large_n(self):
        rng = np.random.default_rng(11)
        H, jumps = random_lindblad(rng, 7, k=2)  # n^2 = 49 > unroll_max: LAPACK path
        jumps = jnp.stack(jumps)
        A = jnp.asarray(np.diag(np.arange(7.0)))

        def f(scale):
            ss = jaxspin.steadystate(H, jumps * scale)
            return jnp.real(ss.expect(A))

        g = jax.grad(f)(1.2)
        fd = (f(1.2 + 1e-6) - f(1.2 - 1e-6)) / 2e-6
        np.testing.assert_allclose(g, fd, rtol=1e-6)


class TestNonUnique:
    def test_raises(self):
        sz = jaxspin.spin_operators(0.5).z
        with pytest.raises(Exception, match="not unique"):
            jax.block_until_ready(jaxspin.steadystate(sz, []).rho)

    def test_result_code_per_point(self):
        sx, _, sz, _, sm = jaxspin.spin_operators(0.5)
        gammas = jnp.array([0.5, 0.0, 0.2])  # the middle point has no dissipation
        ss = jaxspin.steadystate(
            sx, [jnp.sqrt(gammas).astype(complex)[:, None, None] * sm], throw=False
        )
        codes = [bool(r) for r in (ss.result == jaxspin.RESULTS.successful)]
        assert codes == [True, False, True]
        assert bool(ss.result.__eq__(jaxspin.RESULTS.singular)[1])
        _check_density_matrix(ss.rho[0])


class TestLinearResponse:
    def test_response_is_derivative_of_steady_state(self):
        """d rho / d lambda for H + lambda V solves L x = -(-i[V, rho0]) [Danon11]."""
        rng = np.random.default_rng(21)
        H, jumps = random_lindblad(rng, 3, k=2)
        V = jnp.asarray(np.diag([1.0, -0.5, 0.2])).astype(complex)
        rho_of = lambda lam: jaxspin.steadystate(H + lam * V, jumps).rho
        deriv = jax.jacfwd(rho_of, holomorphic=False)(0.0)
        fact = jaxspin.factorize(jaxspin.Lindbladian(H, jumps))
        rho0 = fact.steadystate().rho
        src = -1j * (V @ rho0 - rho0 @ V)
        x, res = fact.response(src, hermitian=True)
        np.testing.assert_allclose(x, deriv, atol=1e-11)
        assert bool(res == jaxspin.RESULTS.successful)
        np.testing.assert_allclose(jnp.trace(x), 0.0, atol=1e-13)

    def test_complex_source_solves_the_equation(self):
        rng = np.random.default_rng(22)
        H, jumps = random_lindblad(rng, 4, k=2)
        lind = jaxspin.Lindbladian(H, jumps)
        fact = jaxspin.factorize(lind)
        rho0 = fact.steadystate().rho
        B = jnp.asarray(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
        src = B @ rho0 - jnp.trace(B @ rho0) * rho0  # traceless, not Hermitian
        x, _ = fact.response(src)
        np.testing.assert_allclose(lind(x), -src, atol=1e-11)
        np.testing.assert_allclose(jnp.trace(x), 0.0, atol=1e-12)

    def test_bad_sources_flagged(self):
        sx, _, sz, _, sm = jaxspin.spin_operators(0.5)
        fact = jaxspin.factorize(jaxspin.Lindbladian(sx, [sm]))
        _, res = fact.response(jnp.eye(2, dtype=complex), throw=False)
        assert bool(res == jaxspin.RESULTS.source_not_traceless)
        _, res = fact.response(sx @ sz, hermitian=True, throw=False)
        assert bool(res == jaxspin.RESULTS.source_not_hermitian)

    def test_batched_linear_response_with_callable_sources(self):
        sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
        omegas = jnp.linspace(0.1, 2.0, 5)
        H = omegas.astype(complex)[:, None, None] * sx + 0.3 * sz

        def sources(rho):
            return jnp.stack([1j * (rho @ s - s @ rho) for s in (sx, sy, sz)])

        ss, xs = jaxspin.linear_response(H, [jnp.sqrt(0.4) * sm], sources, hermitian=True)
        assert xs.shape == (5, 3, 2, 2)
        for i in range(5):
            fact = jaxspin.factorize(jaxspin.Lindbladian(H[i], [jnp.sqrt(0.4) * sm]))
            x, _ = fact.response(1j * (ss.rho[i] @ sy - sy @ ss.rho[i]), hermitian=True)
            np.testing.assert_allclose(xs[i, 1], x, atol=1e-13)


def test_jit_and_qutip_inputs():
    qutip = pytest.importorskip("qutip")
    H = qutip.sigmax() * 0.5
    c = [qutip.destroy(2) * 0.4]
    ss = jaxspin.steadystate(H, c)
    np.testing.assert_allclose(ss.rho, qutip.steadystate(H, c).full(), atol=1e-12)
    f = jax.jit(lambda w: jaxspin.steadystate(w * jnp.asarray(H.full()), [c[0].full()]).rho)
    np.testing.assert_allclose(f(1.0), ss.rho, atol=1e-14)


def test_memory_refusal(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "50M")
    n = 40  # dense: 48 n^4 = 123 MB
    with pytest.raises(jaxspin.MemoryBudgetError, match="needs about"):
        jaxspin.steadystate(jnp.eye(n), [jnp.eye(n)])


def test_bad_input_is_rejected_before_work():
    with pytest.raises(ValueError, match="not Hermitian"):
        jaxspin.steadystate(jnp.array([[0, 1], [0, 0]], dtype=complex), [])
    with pytest.raises(ValueError, match="negative"):
        jaxspin.steadystate(jnp.eye(2), rates=-jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="broadcast"):
        jaxspin.steadystate(jnp.zeros((3, 2, 2)), jnp.zeros((4, 1, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        jaxspin.steadystate(jnp.full((2, 2), jnp.nan))
