"""Hostile input to the classical rate-matrix entry points (jaxspin/_ratematrix.py).

Every bad-input case is one row of ``CASES``: the call, its array arguments, the
exception and a fragment of its message. Each row runs eagerly and under ``jax.jit``,
``eqx.filter_jit`` and ``jax.vmap`` (the array arguments traced; value errors then surface
at run time as ``EquinoxRuntimeError``/``JaxRuntimeError``). The default run takes every
row eagerly and in one traced mode (rotating); ``-m slow`` adds the other modes. Valid rows
prove that the checks let good input through, with the right numbers.

Then: GTH with pivoting (absorbing and transient states; unchanged numbers on irreducible
chains, against the fixed-order GTH written out here), and ``throw=False`` keeping one bad
point from spoiling a batch.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jaxspin
from jaxspin import STATIONARY_RESULTS, BlockTridiagonalRates
from tests.hostile import INF, MODES, NAN, TRACED, Case, expect, split_modes  # noqa: F401


def close(expected, rtol=1e-13, atol=0.0):
    return lambda out: np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------
W2 = np.array([[0.0, 1.0], [2.0, 0.0]])  # 0 -> 1 at 2, 1 -> 0 at 1: p = (1/3, 2/3)
W3 = np.array([[0.0, 1.0, 0.2], [0.5, 0.0, 2.0], [0.1, 0.3, 0.0]])
ABSORB = np.array([[0.0, 0.0], [1.0, 0.0]])  # 0 -> 1, state 1 absorbing: p = (0, 1)
TWO_ABSORBING = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
UP, DOWN = np.array([1.0, 2.0]), np.array([2.0, 1.0])  # p ∝ (1, 1/2, 1)
P0 = np.array([0.5, 0.0, 0.5])


def with_entry(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def blocks(d0=None, d1=None, l0=None, u0=None):
    """Blocks (1, 2) of the complete graph on 3 states at rate 1 (p uniform, rates 3, 3)."""
    return BlockTridiagonalRates(
        [
            jnp.zeros((1, 1)) if d0 is None else d0,
            jnp.array([[0.0, 1], [1, 0]]) if d1 is None else d1,
        ],
        [jnp.ones((2, 1)) if l0 is None else l0],
        [jnp.ones((1, 2)) if u0 is None else u0],
    )


def modes_propagate(up, down, p0, t):
    return jaxspin.birth_death_modes(up, down).propagate(p0, t)


sd = lambda W: jaxspin.stationary_distribution(W).p
rr = jaxspin.relaxation_rates
bds = jaxspin.birth_death_stationary
bdm = lambda up, down: jaxspin.birth_death_modes(up, down).rates
sbt = lambda l0: jaxspin.stationary_block_tridiagonal(blocks(l0=l0)).p
rrb = jaxspin.relaxation_rates_block_tridiagonal

CASES = [
    # --- stationary_distribution
    Case("sd_valid", sd, (W2,), None, check=close([1 / 3, 2 / 3])),
    Case("sd_absorbing_valid", sd, (ABSORB,), None, check=close([0.0, 1.0], atol=1e-300)),
    Case("sd_nan", sd, (with_entry(W2, (0, 1), NAN),), ValueError, "`W` contains NaN or inf"),
    Case("sd_inf", sd, (with_entry(W2, (1, 0), INF),), ValueError, "`W` contains NaN or inf"),
    Case("sd_negative", sd, (-W2,), ValueError, "`W` has negative entries"),
    Case("sd_two_absorbing", sd, (TWO_ABSORBING,), eqx.EquinoxRuntimeError, "reducible"),
    Case("sd_n0", sd, (np.zeros((0, 0)),), ValueError, "at least one state", static=True),
    Case("sd_nonsquare", sd, (np.ones((2, 3)),), ValueError, "(..., n, n)", static=True),
    Case(
        "sd_solver_str",
        lambda W: jaxspin.stationary_distribution(W, solver="gth").p,
        (W2,),
        ValueError,
        "`solver` must be a jaxspin.AbstractStationarySolver",
        static=True,
    ),
    Case(
        "sd_rcond_negative",
        lambda: jaxspin.DenseLUStationary(rcond=-1.0),
        (),
        ValueError,
        "`rcond` must be a finite float >= 0",
        static=True,
    ),
    # --- generator
    Case("gen_valid", jaxspin.generator, (W2,), None, check=close([[-2.0, 1.0], [2.0, -1.0]])),
    Case(
        "gen_batched_valid",
        jaxspin.generator,
        (np.stack([W2, 2 * W2]),),
        None,
        check=close([[[-2.0, 1.0], [2.0, -1.0]], [[-4.0, 2.0], [4.0, -2.0]]]),
    ),
    Case("gen_nan", jaxspin.generator, (with_entry(W2, (0, 1), NAN),), ValueError, "NaN or inf"),
    Case("gen_negative", jaxspin.generator, (-W2,), ValueError, "`W` has negative entries"),
    Case("gen_1d", jaxspin.generator, (np.ones(3),), ValueError, "at least 2 dim", static=True),
    Case("gen_nonsquare", jaxspin.generator, (np.ones((2, 3)),), ValueError, "(..., n, n)", True),
    # --- relaxation_rates
    Case("rr_valid", rr, (W2,), None, check=close([3.0])),
    Case("rr_negative", rr, (with_entry(W3, (0, 1), -1.0),), ValueError, "negative entries"),
    Case("rr_nan", rr, (with_entry(W3, (2, 1), NAN),), ValueError, "`W` contains NaN or inf"),
    Case("rr_k_big", lambda W: rr(W, 5), (W3,), ValueError, "`k` must be between 1 and 2", True),
    Case("rr_k0", lambda W: rr(W, 0), (W3,), ValueError, "`k` must be between 1 and 2", True),
    Case("rr_k_float", lambda W: rr(W, 1.5), (W3,), ValueError, "`k` must be a Python int", True),
    Case("rr_n1", rr, (np.zeros((1, 1)),), ValueError, "one state", static=True),
    Case("rr_nonsquare", rr, (np.ones((2, 3)),), ValueError, "(..., n, n)", static=True),
    Case("rr_batched", rr, (np.stack([W3, W3]),), ValueError, "one problem", static=True),
    # --- birth_death_stationary
    Case("bds_valid", bds, (UP, DOWN), None, check=close([0.4, 0.2, 0.4])),
    Case("bds_nan", bds, (with_entry(UP, 0, NAN), DOWN), ValueError, "`up` must be finite and > 0"),
    Case("bds_inf", bds, (UP, with_entry(DOWN, 1, INF)), ValueError, "`down` must be finite"),
    Case(
        "bds_zero", bds, (UP, with_entry(DOWN, 0, 0.0)), ValueError, "`down` must be finite and > 0"
    ),
    Case("bds_2d", bds, (np.ones((2, 3)), np.ones((2, 3))), ValueError, "1-D of one shape", True),
    Case("bds_shapes", bds, (UP, np.ones(3)), ValueError, "1-D of one shape", static=True),
    Case("bds_K0", bds, (np.zeros(0), np.zeros(0)), ValueError, "K >= 1 links", static=True),
    # --- birth_death_modes and BirthDeathModes.propagate
    Case("bdm_valid", bdm, (UP, DOWN), None, check=close([5.0, 1.0, 0.0], atol=1e-14)),
    Case(
        "bdm_nan", bdm, (with_entry(UP, 1, NAN), DOWN), ValueError, "`up` must be finite and >= 0"
    ),
    Case("bdm_inf", bdm, (UP, with_entry(DOWN, 0, INF)), ValueError, "`down` must be finite"),
    Case("bdm_negative", bdm, (-UP, -DOWN), ValueError, "`up` must be finite and >= 0"),
    Case("bdm_one_way", bdm, (UP, with_entry(DOWN, 0, 0.0)), ValueError, "up[k] > 0 exactly when"),
    Case("bdm_2d", bdm, (np.ones((2, 3)), np.ones((2, 3))), ValueError, "1-D of one shape", True),
    Case("bdm_K0", bdm, (np.zeros(0), np.zeros(0)), ValueError, "K >= 1 links", static=True),
    Case("bdp_t0_valid", modes_propagate, (UP, DOWN, P0, 0.0), None, check=close(P0, atol=1e-15)),
    Case(
        "bdp_long_valid",
        modes_propagate,
        (UP, DOWN, P0, 200.0),
        None,
        check=close([0.4, 0.2, 0.4], rtol=1e-12),
    ),
    Case(
        "bdp_t_negative", modes_propagate, (UP, DOWN, P0, -100.0), ValueError, "`t` must be finite"
    ),
    Case(
        "bdp_t_nan", modes_propagate, (UP, DOWN, P0, NAN), ValueError, "`t` must be finite and >= 0"
    ),
    Case(
        "bdp_p0_nan", modes_propagate, (UP, DOWN, with_entry(P0, 1, NAN), 1.0), ValueError, "`p0`"
    ),
    Case("bdp_p0_negative", modes_propagate, (UP, DOWN, -P0, 1.0), ValueError, "`p0` must be"),
    Case("bdp_p0_shape", modes_propagate, (UP, DOWN, P0[:2], 1.0), ValueError, "shape (3,)", True),
    Case("bdp_t_vector", modes_propagate, (UP, DOWN, P0, np.ones(3)), ValueError, "scalar", True),
    # --- stationary_block_tridiagonal
    Case("sbt_valid", sbt, (np.ones((2, 1)),), None, check=close([1 / 3] * 3)),
    Case("sbt_nan", sbt, (np.array([[NAN], [1.0]]),), ValueError, "`lower[0]` contains NaN or inf"),
    Case(
        "sbt_negative",
        lambda u0: jaxspin.stationary_block_tridiagonal(blocks(u0=u0)).p,
        (np.array([[1.0, -1.0]]),),
        ValueError,
        "`upper[0]` has negative entries",
    ),
    Case(
        "sbt_empty_block",
        lambda: jaxspin.stationary_block_tridiagonal(
            BlockTridiagonalRates(
                [jnp.zeros((1, 1)), jnp.zeros((0, 0))], [jnp.zeros((0, 1))], [jnp.zeros((1, 0))]
            )
        ),
        (),
        ValueError,
        "`diag[1]` is an empty block",
        static=True,
    ),
    Case(
        "sbt_batch_mismatch",
        lambda d0, l0: jaxspin.stationary_block_tridiagonal(blocks(d0=d0, l0=l0)).p,
        (np.zeros((3, 1, 1)), np.ones((2, 2, 1))),
        ValueError,
        "Batch dimensions do not broadcast",
        static=True,
    ),
    Case(
        "sbt_not_blocks",
        lambda W: jaxspin.stationary_block_tridiagonal(W),
        (W2,),
        ValueError,
        "must be a BlockTridiagonalRates",
        static=True,
    ),
    # --- relaxation_rates_block_tridiagonal
    Case(
        "rrb_valid",
        lambda l0: rrb(blocks(l0=l0)),
        (np.ones((2, 1)),),
        None,
        check=close([3.0], 1e-9),
    ),
    Case(
        "rrb_nan",
        lambda l0: rrb(blocks(l0=l0)),
        (np.array([[1.0], [NAN]]),),
        ValueError,
        "`lower[0]` contains",
    ),
    Case(
        "rrb_negative",
        lambda d1: rrb(blocks(d1=d1)),
        (np.array([[0.0, -1.0], [1.0, 0.0]]),),
        ValueError,
        "`diag[1]` has negative entries",
    ),
    Case(
        "rrb_all_zero",
        lambda d1, l0, u0: rrb(blocks(d1=d1, l0=l0, u0=u0)),
        (np.zeros((2, 2)), np.zeros((2, 1)), np.zeros((1, 2))),
        eqx.EquinoxRuntimeError,
        "the block elimination failed",
    ),
    Case(
        "rrb_k_big", lambda: rrb(blocks(), 3), (), ValueError, "`k` must be between 1 and 2", True
    ),
    Case("rrb_k0", lambda: rrb(blocks(), 0), (), ValueError, "`k` must be between 1 and 2", True),
    Case(
        "rrb_iterations", lambda: rrb(blocks(), iterations=0), (), ValueError, "`iterations`", True
    ),
    Case(
        "rrb_extra", lambda: rrb(blocks(), extra=-1), (), ValueError, "`extra` must be >= 0", True
    ),
    Case(
        "rrb_batched",
        lambda d0: rrb(blocks(d0=d0)),
        (np.zeros((3, 1, 1)),),
        ValueError,
        "one problem",
        static=True,
    ),
    Case(
        "rrb_not_blocks",
        lambda W: rrb(W),
        (W2,),
        ValueError,
        "must be a BlockTridiagonalRates",
        True,
    ),
]
TRACED_BY_DEFAULT = {
    "sd_nan": ("jit",),
    "sd_negative": ("vmap",),
    "sd_two_absorbing": ("filter_jit",),
    "sd_absorbing_valid": ("vmap",),
    "gen_negative": ("vmap",),
    "rr_negative": ("jit",),
    "bds_nan": ("filter_jit",),
    "bdm_one_way": ("vmap",),
    "bdp_t_negative": ("jit",),
    "bdp_p0_nan": ("vmap",),
    "sbt_nan": ("filter_jit",),
}
FAST, SLOW = split_modes(CASES, TRACED_BY_DEFAULT)


@pytest.mark.parametrize("case, mode", FAST)
def test_case(case, mode):
    expect(case, mode)


@pytest.mark.slow
@pytest.mark.parametrize("case, mode", SLOW)
def test_case_other_modes(case, mode):
    expect(case, mode)


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: jaxspin.stationary_distribution(np.ones((40, 40))), "40-state rate matrix"),
        (lambda: jaxspin.relaxation_rates(np.ones((40, 40))), "relaxation rates of a 40-state"),
        (lambda: jaxspin.birth_death_modes(np.ones(40), np.ones(40)), "41-state chain"),
        (
            lambda: jaxspin.stationary_block_tridiagonal(
                blocks(d1=jnp.ones((40, 40)), l0=jnp.ones((40, 1)), u0=jnp.ones((1, 40)))
            ),
            "block-tridiagonal",
        ),
    ],
)
def test_memory_refused_with_the_number(monkeypatch, call, what):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "4K")
    with pytest.raises(jaxspin.MemoryBudgetError, match=what):
        call()


# ---------------------------------------------------------------------------------------
# GTH with pivoting
# ---------------------------------------------------------------------------------------
@jax.jit
def fixed_order_gth(W):
    """GTH as it was before pivoting (states eliminated n-1, ..., 1): the reference for
    chains that need no pivoting."""
    W = jnp.asarray(W)
    n = W.shape[-1]
    Q = jnp.transpose(W) * (1 - jnp.eye(n, dtype=W.dtype))
    idx = jnp.arange(n)

    def eliminate(step, carry):
        Q, s_all = carry
        k = n - 1 - step
        lower = idx < k
        s = jnp.sum(jnp.where(lower, Q[k], 0.0))
        col = jnp.where(lower, Q[:, k], 0.0)
        row = jnp.where(lower, Q[k], 0.0)
        Q = Q + jnp.outer(col, row) / jnp.where(s > 0, s, 1.0)
        return Q, s_all.at[k].set(s)

    Q, s_all = jax.lax.fori_loop(0, n - 1, eliminate, (Q, jnp.zeros(n, W.dtype)))

    def back(k, pi):
        val = jnp.sum(jnp.where(idx < k, pi * Q[:, k], 0.0))
        return pi.at[k].set(val / jnp.where(s_all[k] > 0, s_all[k], 1.0))

    pi = jax.lax.fori_loop(1, n, back, jnp.zeros(n, W.dtype).at[0].set(1.0))
    return pi / jnp.sum(pi), jnp.all(s_all[1:] > 0)


def null_space_p(W):
    G = np.asarray(jaxspin.generator(jnp.asarray(W)))
    v = scipy.linalg.null_space(G)
    assert v.shape[1] == 1
    return v[:, 0] / v[:, 0].sum()


def absorbing_chains():
    rng = np.random.default_rng(12)
    # 0 -> 1 -> 2 -> 3 with state 1 absorbing (in the middle: eliminated first if unpivoted)
    a = np.zeros((4, 4))
    a[1, 0], a[1, 2], a[2, 3], a[3, 2] = 1.0, 2.0, 1.0, 0.5
    # closed class {2, 3} at the highest indices, 0 and 1 transient
    b = np.zeros((4, 4))
    b[1, 0], b[2, 1], b[3, 2], b[2, 3], b[0, 1] = 1.0, 3.0, 2.0, 1.0, 0.7
    # random dense chain on 6 states with state 4 absorbing, rates over 8 decades
    c = rng.uniform(0.5, 1.5, (6, 6)) * 10.0 ** rng.uniform(-8, 0, (6, 6))
    np.fill_diagonal(c, 0.0)
    c[:, 4] = 0.0
    # random chain whose closed class {3, 4, 5} is entered only from state 0
    d = rng.uniform(0.5, 1.5, (6, 6))
    np.fill_diagonal(d, 0.0)
    d[:3, 3:] = 0.0  # nothing leaves {3, 4, 5}
    d[3:, 1:3] = 0.0  # ... and only state 0 enters it
    return [ABSORB, a, b, c, d]


@pytest.mark.parametrize("solver", [jaxspin.GTH(), jaxspin.DenseLUStationary()])
@pytest.mark.parametrize("index", range(5))
def test_absorbing_and_transient_states(solver, index):
    """A unique stationary distribution supported on the one closed class: GTH pivots past
    the states with no rate to the remaining ones (the fixed order refused these)."""
    W = absorbing_chains()[index]
    st = jaxspin.stationary_distribution(W, solver=solver)
    ref = null_space_p(W)
    assert bool(st.result == STATIONARY_RESULTS.successful)
    np.testing.assert_allclose(st.p, ref, rtol=1e-10, atol=1e-14)
    if isinstance(solver, jaxspin.GTH):  # exact zeros on transient states
        assert np.all(np.asarray(st.p)[np.abs(ref) < 1e-14] == 0.0)
    if index == 0:
        assert not bool(fixed_order_gth(W)[1])  # what was refused before


@pytest.mark.parametrize("solver", [jaxspin.GTH(), jaxspin.DenseLUStationary()])
def test_two_closed_classes_are_reducible(solver):
    four = np.zeros((4, 4))
    four[0, 3] = four[2, 3] = 1.0  # 3 -> 0 and 3 -> 2; 0 and 2 absorbing; 1 -> nothing
    for W in (TWO_ABSORBING, four, np.zeros((3, 3))):
        st = jaxspin.stationary_distribution(W, solver=solver, throw=False)
        assert bool(st.result == STATIONARY_RESULTS.reducible)
        with pytest.raises(eqx.EquinoxRuntimeError, match="reducible"):
            jax.block_until_ready(jaxspin.stationary_distribution(W, solver=solver).p)


def test_pivoting_leaves_irreducible_chains_unchanged():
    """Random irreducible chains (rates over up to 12 decades, n = 1 to 17) and a batch of
    them: the same numbers as fixed-order GTH."""
    rng = np.random.default_rng(13)
    for n, decades in [(1, 0.0), (5, 3.0), (17, 12.0)]:
        W = rng.uniform(0.5, 1.5, (n, n)) * 10.0 ** rng.uniform(-decades, 0, (n, n))
        np.fill_diagonal(W, 0.0)
        p = jaxspin.stationary_distribution(W).p
        old, ok = fixed_order_gth(W)
        assert bool(ok)
        np.testing.assert_allclose(p, old, rtol=1e-14, atol=0)
    Ws = rng.uniform(0.5, 1.5, (6, 9, 9))
    ps = jaxspin.stationary_distribution(Ws).p
    np.testing.assert_allclose(ps, jax.vmap(lambda w: fixed_order_gth(w)[0])(Ws), rtol=1e-14)


def test_block_solver_with_an_absorbing_state_in_block_0():
    """Block 0 is solved by GTH, which now pivots: state 1 of block 0 absorbing."""
    R = BlockTridiagonalRates(
        [jnp.array([[0.0, 0.0], [1.0, 0.0]]), jnp.zeros((1, 1))],
        [jnp.array([[0.5, 0.0]])],
        [jnp.array([[2.0], [1.0]])],
    )
    st = jaxspin.stationary_block_tridiagonal(R)
    np.testing.assert_allclose(st.p, [0.0, 1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(st.p, jaxspin.stationary_distribution(R.dense()).p, atol=1e-15)


# ---------------------------------------------------------------------------------------
# throw=False: one bad point never spoils a batch
# ---------------------------------------------------------------------------------------
def batch_with_bad_points():
    rng = np.random.default_rng(14)
    Ws = rng.uniform(0.5, 1.5, (6, 4, 4))
    for W in Ws:
        np.fill_diagonal(W, 0.0)
    Ws[1, 2, 3] = NAN
    Ws[2, 0, 1] = -0.5
    Ws[3] = 0.0
    Ws[3, 1, 0] = Ws[3, 2, 0] = 1.0  # two absorbing states: reducible
    Ws[4, 3, 3] = INF
    codes = ["successful", "invalid_input", "invalid_input", "reducible", "invalid_input"]
    return Ws, [getattr(STATIONARY_RESULTS, c) for c in codes + ["successful"]]


@pytest.mark.parametrize(
    "solver",
    [jaxspin.GTH(), pytest.param(jaxspin.DenseLUStationary(), marks=pytest.mark.slow)],
)
def test_throw_false_batch_marks_only_the_bad_points(solver):
    Ws, codes = batch_with_bad_points()
    good = [0, 5]
    single = [jaxspin.stationary_distribution(Ws[i], solver=solver).p for i in good]
    runs = {
        "batched": jaxspin.stationary_distribution(Ws, solver=solver, throw=False),
        "jit": jax.jit(lambda W: jaxspin.stationary_distribution(W, solver=solver, throw=False))(
            Ws
        ),
        "vmap": jax.vmap(lambda W: jaxspin.stationary_distribution(W, solver=solver, throw=False))(
            jnp.asarray(Ws)
        ),
    }
    for name, st in runs.items():
        for i, code in enumerate(codes):
            assert int(st.result._value[i]) == int(code._value), (name, i)
        assert np.all(np.isnan(np.asarray(st.p[1:3]))) and np.all(np.isnan(np.asarray(st.p[4])))
        for i, p in zip(good, single, strict=True):
            np.testing.assert_allclose(st.p[i], p, rtol=1e-15, err_msg=name)
    with pytest.raises(ValueError, match="`W` contains NaN or inf"):
        jaxspin.stationary_distribution(Ws, solver=solver)
    with pytest.raises(eqx.EquinoxRuntimeError, match="`W` contains NaN or inf"):
        jax.block_until_ready(jax.vmap(lambda W: jaxspin.stationary_distribution(W).p)(Ws))


def test_throw_false_gradient_of_a_batch():
    """Reverse mode through a batch: the good points' gradients finite, an invalid point's
    zero (it was replaced), a reducible point's NaN; no point raises."""
    Ws, _ = batch_with_bad_points()
    obs = jnp.arange(4.0)
    f = lambda W: obs @ jaxspin.stationary_distribution(W, throw=False).p
    g = np.asarray(jax.vmap(jax.grad(f))(jnp.asarray(Ws)))
    assert np.all(np.isfinite(g[[0, 5]])) and np.all(g[[1, 2, 4]] == 0.0)
    assert np.all(np.isnan(g[3]))


@pytest.mark.slow
def test_throw_false_gradient_of_good_points_unchanged():
    Ws, _ = batch_with_bad_points()
    obs = jnp.arange(4.0)
    f = lambda W, throw: obs @ jaxspin.stationary_distribution(W, throw=throw).p
    g = jax.vmap(jax.grad(lambda W: f(W, False)))(jnp.asarray(Ws))
    np.testing.assert_allclose(g[0], jax.grad(lambda W: f(W, True))(jnp.asarray(Ws[0])), rtol=1e-14)
    _, tangent = jax.jvp(lambda W: f(W, False), (jnp.asarray(Ws[3]),), (jnp.ones((4, 4)),))
    assert np.isnan(float(tangent))  # forward mode: NaN too


def test_throw_false_block_batch():
    good = blocks()
    bad_lower = jnp.stack([jnp.ones((2, 1)), jnp.array([[NAN], [1.0]]), -jnp.ones((2, 1))])
    R = BlockTridiagonalRates(good.diag, [bad_lower], good.upper)
    for st in (
        jaxspin.stationary_block_tridiagonal(R, throw=False),
        jax.vmap(lambda l0: jaxspin.stationary_block_tridiagonal(blocks(l0=l0), throw=False))(
            bad_lower
        ),
    ):
        codes = np.asarray(st.result._value)
        assert codes[0] == int(STATIONARY_RESULTS.successful._value)
        assert np.all(codes[1:] == int(STATIONARY_RESULTS.invalid_input._value))
        np.testing.assert_allclose(st.p[0], [1 / 3] * 3, rtol=1e-14)
        assert np.all(np.isnan(np.asarray(st.p[1:])))


def test_throw_false_relaxation_rates():
    Ws = jnp.stack([jnp.asarray(W3), jnp.asarray(with_entry(W3, (0, 1), -1.0))])
    r = jax.vmap(lambda W: jaxspin.relaxation_rates(W, 2, throw=False))(Ws)
    np.testing.assert_allclose(r[0], jaxspin.relaxation_rates(W3, 2), rtol=1e-14)
    assert np.all(np.isnan(np.asarray(r[1])))
    zero = blocks(d1=jnp.zeros((2, 2)), l0=jnp.zeros((2, 1)), u0=jnp.zeros((1, 2)))
    assert np.all(np.isnan(np.asarray(rrb(zero, throw=False))))
    np.testing.assert_allclose(rrb(blocks(), throw=False), [3.0], rtol=1e-9)
