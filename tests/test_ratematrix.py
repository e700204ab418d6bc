import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

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
    with pytest.raises(Exception, match="strictly positive"):
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
