import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

import jaxspin


def random_rates(rng, n, decades=0.0):
    """Random positive rates, log-uniformly spread over ``decades`` orders of magnitude."""
    W = rng.uniform(0.5, 1.5, size=(n, n)) * 10.0 ** rng.uniform(-decades, 0, size=(n, n))
    np.fill_diagonal(W, 0.0)
    return W


def null_vector_reference(W):
    """Independent reference: the null vector of G from an SVD (numpy/scipy)."""
    G = np.asarray(jaxspin.generator(jnp.asarray(W)))
    v = scipy.linalg.null_space(G)[:, 0]
    return v / v.sum()


@pytest.mark.parametrize("solver", [jaxspin.GTH(), jaxspin.DenseLUStationary()])
def test_matches_null_space(solver):
    rng = np.random.default_rng(1)
    W = random_rates(rng, 9)
    p = jaxspin.stationary_distribution(W, solver=solver).p
    np.testing.assert_allclose(p, null_vector_reference(W), rtol=1e-12)
    np.testing.assert_allclose(jaxspin.generator(jnp.asarray(W)) @ p, 0.0, atol=1e-13)


def test_detailed_balance_gibbs_with_huge_dynamic_range():
    """Boltzmann weights over 200 decades: GTH keeps every probability to relative 1e-12."""
    rng = np.random.default_rng(2)
    n = 12
    E = np.sort(rng.uniform(0, 460, size=n))  # beta = 1: p spans exp(-460) ~ 1e-200
    base = rng.uniform(0.1, 1.0, size=(n, n))
    base = base + base.T
    W = base * np.exp(-(E[:, None] - E[None, :]) / 2)
    np.fill_diagonal(W, 0)
    p = jaxspin.stationary_distribution(W).p
    logp = -E - np.log(np.sum(np.exp(-(E - E[0])))) + E[0]
    np.testing.assert_allclose(np.log(np.asarray(p)), logp, rtol=0, atol=1e-11)
    assert float(p[-1]) < 1e-150


def test_reducible_chain_reported():
    W = np.zeros((4, 4))
    W[1, 0] = W[0, 1] = 1.0
    W[3, 2] = W[2, 3] = 1.0  # two closed classes
    st = jaxspin.stationary_distribution(W, throw=False)
    assert bool(st.result == jaxspin.STATIONARY_RESULTS.reducible)
    with pytest.raises(Exception, match="reducible"):
        jax.block_until_ready(jaxspin.stationary_distribution(W).p)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    W0 = jnp.asarray(random_rates(rng, 6))
    dW = jnp.asarray(random_rates(rng, 6))
    obs = jnp.arange(6.0)

    def f(t):
        return jnp.dot(obs, jaxspin.stationary_distribution(W0 + t * dW).p)

    g = jax.grad(f)(0.3)
    fd = (f(0.3 + 1e-6) - f(0.3 - 1e-6)) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    _, jv = jax.jvp(f, (0.3,), (1.0,))
    np.testing.assert_allclose(jv, g, rtol=1e-10)


def test_batched_and_bad_input():
    rng = np.random.default_rng(4)
    Ws = np.stack([random_rates(rng, 5) for _ in range(3)])
    ps = jaxspin.stationary_distribution(Ws).p
    for i in range(3):
        np.testing.assert_allclose(ps[i], null_vector_reference(Ws[i]), rtol=1e-11)
    with pytest.raises(ValueError, match="negative"):
        jaxspin.stationary_distribution(-Ws)
    with pytest.raises(ValueError, match=r"\(\.\.\., n, n\)"):
        jaxspin.stationary_distribution(np.ones((3, 4)))


def test_birth_death_chain():
    up = jnp.array([2.0, 1e-120, 3.0, 0.5])
    down = jnp.array([1.0, 1e120, 0.5, 2.0])
    p = jaxspin.birth_death_stationary(up, down)
    K = 4
    W = np.zeros((K + 1, K + 1))
    W[np.arange(1, K + 1), np.arange(K)] = up
    W[np.arange(K), np.arange(1, K + 1)] = down
    ref = jaxspin.stationary_distribution(W).p
    np.testing.assert_allclose(p[:2], ref[:2], rtol=1e-12)
    assert float(p[2]) < 1e-230
    with pytest.raises(ValueError, match="`down` must be finite and > 0"):
        jax.block_until_ready(jaxspin.birth_death_stationary(up, jnp.zeros(4)))


def test_birth_death_log():
    # log=True keeps probabilities far below the float64 range: p ∝ (1e-200)^k.
    K = 5
    up = jnp.full(K, 1e-100)
    down = jnp.full(K, 1e100)
    logp = jaxspin.birth_death_stationary(up, down, log=True)
    np.testing.assert_allclose(np.diff(np.asarray(logp)), -200 * np.log(10.0), rtol=1e-13)
    assert abs(float(jax.nn.logsumexp(logp))) < 1e-13
    p = jaxspin.birth_death_stationary(up, down)
    assert float(p[0]) == 1.0 and float(p[2]) == 0.0  # the linear version underflows


def test_relaxation_rate_two_state():
    W = jnp.array([[0.0, 1.5], [0.7, 0.0]])
    np.testing.assert_allclose(jaxspin.relaxation_rates(W), [2.2], rtol=1e-12)


def test_relaxation_rate_gradients():
    """Derivatives of simple eigenvalues (jaxspin._eigvals: eigenvectors by inverse
    iteration) in reverse and forward mode against central finite differences and against
    the gradient of JAX's own jnp.linalg.eigvals, for a chain with real and one with
    complex eigenvalues (a perturbed one-way ring)."""
    rng = np.random.default_rng(11)
    n = 7
    ring = 2.0 * np.roll(np.eye(n), 1, axis=0) + 0.1 * rng.uniform(size=(n, n))
    for W in (jnp.asarray(random_rates(rng, n)), jnp.asarray(ring)):
        f = lambda w: jnp.sum(jaxspin.relaxation_rates(w, 3) * jnp.array([1.0, 0.5, 0.25]))

        def lapack(w):
            lam = jnp.linalg.eigvals(jaxspin.generator(w))
            return jnp.sum(jnp.sort(-jnp.real(lam))[1:4] * jnp.array([1.0, 0.5, 0.25]))

        g = jax.grad(f)(W)
        np.testing.assert_allclose(g, jax.grad(lapack)(W), rtol=0, atol=1e-12)
        np.testing.assert_allclose(jax.jacfwd(f)(W), g, rtol=0, atol=1e-12)
        h = 1e-5
        for i, j in [(0, 1), (3, 2), (n - 1, 0)]:
            e = jnp.zeros_like(W).at[i, j].set(h)
            fd = (f(W + e) - f(W - e)) / (2 * h)
            np.testing.assert_allclose(g[i, j], fd, rtol=1e-7, atol=1e-9)


@pytest.fixture
def device_eigvals(monkeypatch):
    """Run the non-CPU branch of jaxspin._eigvals.eigvals (what a GPU executes: balanced
    Hessenberg QR in device code) on this CPU. The jitted kernel behind the public
    ``relaxation_rates`` is replaced by its un-jitted ``__wrapped__`` for the test, so that
    no cached trace (with LAPACK, or with the substitute after the test) is used or left
    behind; the public function (with its input checks) is what the tests call."""
    from jaxspin import _eigvals, _ratematrix

    device = jax.jit(_eigvals.eigvals_qr)
    monkeypatch.setattr(_ratematrix, "eigvals", device)
    monkeypatch.setattr(_ratematrix, "_relaxation_rates", _ratematrix._relaxation_rates.__wrapped__)
    return device


def _matched_error(lam, ref):
    """Largest distance between the eigenvalues ``lam`` and ``ref`` paired one to one."""
    i, j = scipy.optimize.linear_sum_assignment(np.abs(lam[:, None] - ref[None, :]))
    return float(np.max(np.abs(lam[i] - ref[j])))


@pytest.mark.parametrize("n, decades", [(2, 0.0), (12, 10.0), (40, 4.0)])
def test_device_eigenvalues_match_lapack(device_eigvals, n, decades):
    """Non-reversible random generators (rates over up to 10 decades): every eigenvalue of
    the device algorithm within 1e-13 |G| of NumPy's LAPACK geev, and the relaxation rates
    that relaxation_rates returns on a GPU equal the CPU ones."""
    rng = np.random.default_rng(100 + n)
    W = random_rates(rng, n, decades)
    G = np.asarray(jaxspin.generator(jnp.asarray(W)))
    lam = np.asarray(device_eigvals(jnp.asarray(G)))
    scale = np.max(np.abs(G))
    assert _matched_error(lam, np.linalg.eigvals(G)) <= 1e-13 * scale
    k = min(3, n - 1)
    gpu = jaxspin.relaxation_rates(jnp.asarray(W), k)
    cpu = np.sort(-np.linalg.eigvals(G).real)[1 : 1 + k]  # what the CPU path computes
    np.testing.assert_allclose(gpu, cpu, rtol=0, atol=1e-13 * scale)


def test_device_relaxation_rates_of_a_ring(device_eigvals):
    """A one-way ring 0 → 1 → ... → n-1 → 0 at rate γ (no detailed balance): G = γ(P - 1)
    with P the cyclic shift, eigenvalues γ(e^{2πik/n} - 1) exactly (complex pairs), so the
    relaxation rates are γ(1 - cos(2πk/n)), each twice."""
    n, gamma = 11, 2.5
    W = gamma * np.roll(np.eye(n), 1, axis=0)  # W[i+1, i] = γ
    lam = np.asarray(device_eigvals(jaxspin.generator(jnp.asarray(W))))
    exact = gamma * (np.exp(2j * np.pi * np.arange(n) / n) - 1)
    assert _matched_error(lam, exact) <= 1e-13 * gamma
    rates = jaxspin.relaxation_rates(jnp.asarray(W), 4)
    ref = gamma * (1 - np.cos(2 * np.pi * np.array([1, 1, 2, 2]) / n))
    np.testing.assert_allclose(rates, ref, rtol=1e-12)


def test_device_relaxation_rates_with_detailed_balance(device_eigvals):
    """Gibbs rates W_ji = b_ji e^{-(E_j - E_i)/2} (b symmetric) with energies over 20/β
    (rates over 8 decades): the generator is similar to the symmetric Π^{-1/2} G Π^{1/2}
    with entries √(W_ij W_ji), whose eigenvalues (NumPy eigvalsh, an independent symmetric
    oracle) are the exact spectrum; the device path reproduces every relaxation rate to
    relative 1e-10 (measured: 1.3e-12; LAPACK geev: 0.9e-12)."""
    rng = np.random.default_rng(5)
    n = 10
    E = np.sort(rng.uniform(0, 20, size=n))
    base = rng.uniform(0.1, 1.0, size=(n, n))
    W = (base + base.T) * np.exp(-(E[:, None] - E[None, :]) / 2)
    np.fill_diagonal(W, 0)
    S = np.sqrt(W * W.T) - np.diag(W.sum(axis=0))
    ref = np.sort(-np.linalg.eigvalsh(S))
    rates = jaxspin.relaxation_rates(jnp.asarray(W), n - 1)
    np.testing.assert_allclose(rates, ref[1:], rtol=1e-10)


def test_birth_death_modes_match_expm():
    # (not re-exported yet: the lead adds jaxspin.birth_death_modes to jaxspin/__init__.py)
    from jaxspin._ratematrix import birth_death_modes

    # Exact propagation of a random chain with a break (up = down = 0 splits it in two)
    # against the dense matrix exponential, for short and long times.
    rng = np.random.default_rng(7)
    K = 30
    up = rng.uniform(0.1, 10, K)
    down = rng.uniform(0.1, 10, K)
    up[12] = down[12] = 0.0
    W = np.zeros((K + 1, K + 1))
    W[np.arange(1, K + 1), np.arange(K)] = up
    W[np.arange(K), np.arange(1, K + 1)] = down
    G = jaxspin.generator(jnp.asarray(W))
    p0 = np.zeros(K + 1)
    p0[[2, 20, 29]] = [0.5, 0.3, 0.2]
    modes = birth_death_modes(jnp.asarray(up), jnp.asarray(down))
    ts = jnp.array([0.0, 1e-3, 0.3, 50.0, 1e4])
    ref = jaxspin.propagate(G, jnp.asarray(p0), ts)
    got = jax.vmap(lambda t: modes.propagate(jnp.asarray(p0), t))(ts)
    np.testing.assert_allclose(got, ref, atol=1e-13)
    # probability of each block is conserved separately (to eps * ||S|| * t ~ 2e-11)
    np.testing.assert_allclose(float(got[-1][:13].sum()), 0.5, rtol=1e-10)
    # the long-time limit of each block is its own stationary distribution
    sub = jaxspin.birth_death_stationary(jnp.asarray(up[13:]), jnp.asarray(down[13:]))
    np.testing.assert_allclose(got[-1][13:] / got[-1][13:].sum(), sub, atol=1e-12)
    with pytest.raises(Exception, match="up\\[k\\] > 0 exactly when"):
        jax.block_until_ready(birth_death_modes(jnp.array([1.0, 1.0]), jnp.array([1.0, 0.0])).rates)
