"""Block-tridiagonal stationary solver and relaxation rates (engine, jaxspin/_ratematrix.py).

References: the dense GTH solver (itself tested against SVD null vectors), exact Gibbs
distributions of detailed-balance chains, finite differences for gradients, and NumPy's
dense eigenvalues for relaxation rates.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
from jaxspin._ratematrix import (
    STATIONARY_RESULTS,
    BlockTridiagonalRates,
    relaxation_rates_block_tridiagonal,
    stationary_block_tridiagonal,
)


SIZES = [2, 5, 7, 4, 3]


def random_blocks(rng, sizes, decades=0.0, scale_between=1.0):
    """Random positive rates, log-uniform over ``decades``; jumps between blocks times
    ``scale_between``."""

    def r(a, b, s=1.0):
        return s * rng.uniform(0.5, 1.5, (a, b)) * 10.0 ** rng.uniform(-decades, 0, (a, b))

    K = len(sizes) - 1
    return BlockTridiagonalRates(
        [r(d, d) for d in sizes],
        [r(sizes[k + 1], sizes[k], scale_between) for k in range(K)],
        [r(sizes[k], sizes[k + 1], scale_between) for k in range(K)],
    )


def blocks_of(W, sizes):
    edges = np.cumsum([0, *sizes])
    blk = lambda a, b: W[edges[a] : edges[a + 1], edges[b] : edges[b + 1]]
    K = len(sizes) - 1
    return BlockTridiagonalRates(
        [blk(k, k) for k in range(K + 1)],
        [blk(k + 1, k) for k in range(K)],
        [blk(k, k + 1) for k in range(K)],
    )


@pytest.mark.parametrize("decades", [0.0, 6.0, 15.0])
def test_matches_dense_gth(decades):
    rng = np.random.default_rng(int(decades))
    R = random_blocks(rng, SIZES, decades)
    p = stationary_block_tridiagonal(R).p
    ref = jaxspin.stationary_distribution(R.dense()).p
    np.testing.assert_allclose(p, ref, rtol=1e-12)
    np.testing.assert_allclose(jaxspin.generator(R.dense()) @ p, 0.0, atol=1e-14)
    assert float(jnp.min(p)) > 0


def test_dense_assembly():
    rng = np.random.default_rng(7)
    R = random_blocks(rng, [1, 2, 3])
    W = np.asarray(R.dense())
    assert W.shape == (6, 6)
    np.testing.assert_array_equal(W[3:6, 1:3], R.lower[1])
    np.testing.assert_array_equal(W[1:3, 3:6], R.upper[1])
    np.testing.assert_array_equal(W[0, 3:], 0.0)  # blocks 0 and 2 are not neighbours
    np.testing.assert_array_equal(W[3:, 0], 0.0)


def test_gibbs_over_175_decades():
    """Detailed balance with energies rising by 100 k_B T per block: relative accuracy."""
    rng = np.random.default_rng(2)
    sizes = [2, 6, 9, 6, 2]
    n = sum(sizes)
    E = np.concatenate([rng.uniform(0, 7.5, d) + 100.0 * k for k, d in enumerate(sizes)])
    base = rng.uniform(0.1, 1.0, (n, n))
    W = (base + base.T) * np.exp(-(E[:, None] - E[None, :]) / 2)
    np.fill_diagonal(W, 0.0)
    edges = np.cumsum([0, *sizes])
    for k in range(len(sizes)):  # keep only block-tridiagonal jumps
        W[edges[k] : edges[k + 1], edges[k + 2] if k + 2 <= len(sizes) else n :] = 0.0
        W[edges[k + 2] if k + 2 <= len(sizes) else n :, edges[k] : edges[k + 1]] = 0.0
    p = np.asarray(stationary_block_tridiagonal(blocks_of(W, sizes)).p)
    logp = -E - np.log(np.sum(np.exp(-(E - E[0])))) + E[0]
    assert p.min() < 1e-170
    np.testing.assert_allclose(np.log(p), logp, rtol=0, atol=1e-11)


def test_accuracy_degrades_only_with_in_block_dominance():
    """Documented bound: digits lost ~ log10(in-block rates / rates leaving the block)."""
    rng = np.random.default_rng(11)
    sizes = [2, 8, 12, 8, 3]
    K = len(sizes) - 1

    def inblock(d):
        A = rng.uniform(0.5, 1.5, (d, d))
        A[: d // 2, d // 2 :] *= 1e-7  # nearly decomposable inside the block
        A[d // 2 :, : d // 2] *= 1e-9
        return A

    for slack, tol in [(1e-2, 1e-11), (1e-6, 1e-7)]:
        r = lambda a, b, s=slack: s * rng.uniform(0.5, 1.5, (a, b))
        R = BlockTridiagonalRates(
            [inblock(d) for d in sizes],
            [r(sizes[k + 1], sizes[k]) for k in range(K)],
            [r(sizes[k], sizes[k + 1]) for k in range(K)],
        )
        p = np.asarray(stationary_block_tridiagonal(R).p)
        ref = np.asarray(jaxspin.stationary_distribution(R.dense()).p)
        np.testing.assert_allclose(p, ref, rtol=tol)


def test_gradients_match_dense_and_finite_differences():
    rng = np.random.default_rng(3)
    R = random_blocks(rng, SIZES, 3.0)
    obs = jnp.arange(float(sum(SIZES)))

    def scaled(t):
        return BlockTridiagonalRates(
            [a * (1 + t * i) for i, a in enumerate(R.diag)],
            [a * (1 + t) for a in R.lower],
            [a * (1 - t / 3) for a in R.upper],
        )

    f_block = jax.jit(lambda t: obs @ stationary_block_tridiagonal(scaled(t)).p)
    f_dense = lambda t: obs @ jaxspin.stationary_distribution(scaled(t).dense()).p
    g = jax.jit(jax.grad(f_block))(0.1)
    np.testing.assert_allclose(g, jax.jit(jax.grad(f_dense))(0.1), rtol=1e-10)
    fd = (f_block(0.1 + 1e-6) - f_block(0.1 - 1e-6)) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    _, jv = jax.jit(lambda t: jax.jvp(f_block, (t,), (1.0,)))(0.1)
    np.testing.assert_allclose(jv, g, rtol=1e-10)
    # gradient with respect to every rate block (reverse mode through the block solve)
    grads = jax.jit(jax.grad(lambda R: obs @ stationary_block_tridiagonal(R).p))(R)
    dense_grad = jax.jit(jax.grad(lambda W: obs @ jaxspin.stationary_distribution(W).p))(R.dense())
    # lower[2]: block 2 (states 7..13) -> block 3 (states 14..17)
    np.testing.assert_allclose(grads.lower[2], dense_grad[14:18, 7:14], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(grads.upper[0], dense_grad[0:2, 2:7], rtol=1e-9, atol=1e-15)
    off = 1 - np.eye(7)
    np.testing.assert_allclose(
        grads.diag[2] * off, dense_grad[7:14, 7:14] * off, rtol=1e-9, atol=1e-15
    )


def test_vmap_and_vmap_of_grad():
    rng = np.random.default_rng(4)
    sizes = [1, 3, 2]
    Rs = [random_blocks(rng, sizes, 2.0) for _ in range(3)]
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *Rs)
    ps = stationary_block_tridiagonal(stacked).p
    assert ps.shape == (3, sum(sizes))
    for i in range(3):
        np.testing.assert_allclose(ps[i], stationary_block_tridiagonal(Rs[i]).p, rtol=1e-13)
    obs = jnp.linspace(-1.0, 1.0, sum(sizes))
    f = lambda R, t: (
        obs
        @ stationary_block_tridiagonal(
            BlockTridiagonalRates(R.diag, [a * (1 + t) for a in R.lower], R.upper)
        ).p
    )
    gs = jax.jit(jax.vmap(jax.grad(f, argnums=1), in_axes=(0, None)))(stacked, 0.2)
    g1 = jax.jit(jax.grad(f, argnums=1))
    for i in range(3):
        np.testing.assert_allclose(gs[i], g1(Rs[i], 0.2), rtol=1e-12)


def test_reducible_chain_reported():
    rng = np.random.default_rng(5)
    R = random_blocks(rng, [2, 3, 2])
    R = BlockTridiagonalRates(R.diag, [R.lower[0], R.lower[1] * 0], [R.upper[0], R.upper[1] * 0])
    st = stationary_block_tridiagonal(R, throw=False)
    assert bool(st.result == STATIONARY_RESULTS.reducible)
    with pytest.raises(Exception, match="reducible"):
        jax.block_until_ready(stationary_block_tridiagonal(R).p)


def test_bad_input():
    rng = np.random.default_rng(6)
    R = random_blocks(rng, [2, 3, 2])
    with pytest.raises(ValueError, match="negative"):
        stationary_block_tridiagonal(
            BlockTridiagonalRates(R.diag, R.lower, [-R.upper[0], R.upper[1]])
        )
    with pytest.raises(ValueError, match=r"lower\[0\]"):
        stationary_block_tridiagonal(
            BlockTridiagonalRates(R.diag, [R.upper[0], R.lower[1]], R.upper)
        )
    with pytest.raises(ValueError, match="2 lower"):
        stationary_block_tridiagonal(BlockTridiagonalRates(R.diag, R.lower[:1], R.upper))
    with pytest.raises(ValueError, match="BlockTridiagonalRates"):
        stationary_block_tridiagonal(R.dense())


def test_relaxation_rates_match_dense_eigenvalues():
    rng = np.random.default_rng(8)
    R = random_blocks(rng, SIZES, 2.0, scale_between=0.01)  # slow exchange between blocks
    rates = relaxation_rates_block_tridiagonal(R, 3)
    lam = np.linalg.eigvals(np.asarray(jaxspin.generator(R.dense())))
    ref = np.sort(-lam.real)[1:4]
    np.testing.assert_allclose(rates, ref, rtol=1e-9)
    np.testing.assert_allclose(jaxspin.relaxation_rates(R.dense(), 3), ref, rtol=1e-9)


def test_device_relaxation_rates_match_dense_eigenvalues(monkeypatch):
    """The same on the GPU path: Ritz values by the device eigenvalue algorithm
    (jaxspin._eigvals.eigvals_qr, substituted for the platform switch; the function is
    jitted afresh so that no cached LAPACK trace is reused)."""
    from jaxspin import _eigvals, _ratematrix

    monkeypatch.setattr(_ratematrix, "eigvals", jax.jit(_eigvals.eigvals_qr))
    fresh = eqx.filter_jit(_ratematrix._relaxation_rates_block.__wrapped__)
    monkeypatch.setattr(_ratematrix, "_relaxation_rates_block", fresh)
    rng = np.random.default_rng(8)
    R = random_blocks(rng, SIZES, 2.0, scale_between=0.01)
    rates = relaxation_rates_block_tridiagonal(R, 3)
    lam = np.linalg.eigvals(np.asarray(jaxspin.generator(R.dense())))
    np.testing.assert_allclose(rates, np.sort(-lam.real)[1:4], rtol=1e-9)


def test_slow_mode_of_nearly_decomposable_chain():
    """A fast chain times an independent two-state flip at rates 1e-12 (the structure of a
    weakly coupled nuclear spin): the slowest rate is exactly the flip's 3e-12 + 1e-12 and
    keeps its relative accuracy (block 0's singular solve is scaled to its own rates)."""
    rng = np.random.default_rng(9)
    A = np.array(random_blocks(rng, [1, 2, 3, 2], 1.0).dense())
    flip = np.array([[0.0, 1e-12], [3e-12, 0.0]])
    W = np.kron(A, np.eye(2)) + np.kron(np.eye(A.shape[0]), flip)
    R = blocks_of(W, [2, 4, 6, 4])
    rates = relaxation_rates_block_tridiagonal(R, 1)
    np.testing.assert_allclose(rates, [4e-12], rtol=1e-9)


# --- streamed elimination (blocks asked for one at a time) ---------------------------------
def streamer(R, calls=None):
    """``blocks(k)`` of :func:`jaxspin.stationary_block_tridiagonal_streamed` from ``R``,
    recording the order of the calls."""
    K = len(R.diag) - 1

    def blocks(k):
        if calls is not None:
            calls.append(k)
        if k == K:
            return jnp.asarray(R.diag[K]), None, None
        return jnp.asarray(R.diag[k]), jnp.asarray(R.lower[k]), jnp.asarray(R.upper[k])

    return blocks


@pytest.mark.parametrize("decades", [0.0, 15.0])
def test_streamed_matches_in_memory_elimination(decades):
    rng = np.random.default_rng(11 + int(decades))
    R = random_blocks(rng, SIZES, decades, scale_between=1e-3)
    calls = []
    st = jaxspin.stationary_block_tridiagonal_streamed(streamer(R, calls), tuple(SIZES))
    assert calls == list(range(len(SIZES) - 1, -1, -1))  # K, ..., 0, once each
    assert bool(st.result == STATIONARY_RESULTS.successful)
    ref = jaxspin.stationary_distribution(R.dense()).p  # dense GTH, independent of the blocks
    np.testing.assert_allclose(st.p, ref, rtol=1e-12)
    np.testing.assert_allclose(st.p, stationary_block_tridiagonal(R).p, rtol=1e-12)


def test_streamed_gibbs_over_175_decades_and_single_block():
    rng = np.random.default_rng(2)
    sizes = [2, 6, 9, 6, 2]
    E = np.concatenate([rng.uniform(0, 7.5, d) + 100.0 * k for k, d in enumerate(sizes)])
    R = random_blocks(rng, sizes)
    edges = np.cumsum([0, *sizes])
    e = lambda k: E[edges[k] : edges[k + 1]]
    sym = lambda a, b, x: x * np.exp(-(a[:, None] - b[None, :]) / 2)  # detailed balance
    base = [rng.uniform(0.1, 1.0, (a, b)) for a, b in zip(sizes[1:], sizes[:-1], strict=True)]
    diag = [sym(e(k), e(k), (B := rng.uniform(0.1, 1, (d, d))) + B.T) for k, d in enumerate(sizes)]
    lower = [sym(e(k + 1), e(k), base[k]) for k in range(len(sizes) - 1)]
    upper = [sym(e(k), e(k + 1), base[k].T) for k in range(len(sizes) - 1)]
    R = BlockTridiagonalRates(diag, lower, upper)
    p = np.asarray(jaxspin.stationary_block_tridiagonal_streamed(streamer(R), tuple(sizes)).p)
    logp = -E - np.log(np.sum(np.exp(-(E - E[0])))) + E[0]
    assert p.min() < 1e-170
    np.testing.assert_allclose(np.log(p), logp, rtol=0, atol=1e-11)
    one = BlockTridiagonalRates([diag[1]], [], [])
    p1 = jaxspin.stationary_block_tridiagonal_streamed(streamer(one), (6,)).p
    np.testing.assert_allclose(p1, jaxspin.stationary_distribution(diag[1]).p, rtol=1e-13)


def test_streamed_bad_input_and_reducible():
    rng = np.random.default_rng(6)
    R = random_blocks(rng, [2, 3, 2])
    neg = BlockTridiagonalRates(R.diag, R.lower, [-R.upper[0], R.upper[1]])
    with pytest.raises(ValueError, match="negative"):
        jaxspin.stationary_block_tridiagonal_streamed(streamer(neg), (2, 3, 2))
    st = jaxspin.stationary_block_tridiagonal_streamed(streamer(neg), (2, 3, 2), throw=False)
    assert bool(st.result == STATIONARY_RESULTS.invalid_input)
    assert bool(jnp.all(jnp.isnan(st.p)))
    with pytest.raises(ValueError, match=r"`diag` must have shape \(2, 2\); got \(3, 3\)"):
        jaxspin.stationary_block_tridiagonal_streamed(streamer(R), (2, 2, 2))
    red = BlockTridiagonalRates(R.diag, [R.lower[0], R.lower[1] * 0], [R.upper[0], R.upper[1] * 0])
    st = jaxspin.stationary_block_tridiagonal_streamed(streamer(red), (2, 3, 2), throw=False)
    assert bool(st.result == STATIONARY_RESULTS.reducible)
    with pytest.raises(Exception, match="reducible"):
        jax.block_until_ready(
            jaxspin.stationary_block_tridiagonal_streamed(streamer(red), (2, 3, 2)).p
        )


def test_streamed_memory_is_checked_before_any_block(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1MB")
    calls = []
    R = random_blocks(np.random.default_rng(0), [2, 3, 2])
    with pytest.raises(jaxspin.MemoryBudgetError, match="streamed"):
        jaxspin.stationary_block_tridiagonal_streamed(streamer(R, calls), (300, 400, 300))
    assert calls == []
    assert jaxspin.streamed_block_bytes((300, 400, 300)) == 8 * (
        2 * 300 * 400 + 4 * 400 * 400 + 3 * 300 * 400 + 2 * 300 * 300
    )
