"""Hostile input to the time-evolution entry points (jaxspin/_evolve.py).

Every bad-input case is one row of ``CASES`` (the harness in tests/hostile.py): each row
runs eagerly and under ``jax.jit``, ``eqx.filter_jit`` and ``jax.vmap``; by default every
row eagerly and in one traced mode, ``-m slow`` adds the others. Valid rows prove that good
input passes with the right numbers. Then:
``throw=False`` turns a bad point of a ``vmap`` into NaN with a result code (without
integrating it), and memory refusals name the size.
"""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jaxspin
from tests.hostile import INF, MODES, NAN, TRACED, Case, expect, split_modes  # noqa: F401


def with_entry(a, index, value):
    a = np.array(a)
    a[index] = value
    return a


# ---------------------------------------------------------------------------------------
# Inputs (Tsit5 where the solver does not matter: it compiles fastest)
# ---------------------------------------------------------------------------------------
FAST = diffrax.Tsit5()
TS = np.array([0.0, 0.5, 1.0])
W2 = np.array([[0.0, 1.0], [2.0, 0.0]])
P0 = np.array([1.0, 0.0])
SX = np.array([[0.0, 0.5], [0.5, 0.0]], complex)
SM = np.array([[0.0, 0.0], [1.0, 0.0]], complex)
RHO0 = np.array([[1.0, 0.0], [0.0, 0.0]], complex)
G2 = np.array([[-2.0, 1.0], [2.0, -1.0]])


def exact_rates(ts):
    """p(t) of the two-state chain W2 from p0 = (1, 0): relaxation at rate 3 to (1/3, 2/3)."""
    e = np.exp(-3.0 * np.asarray(ts))
    return np.stack([1 / 3 + 2 / 3 * e, 2 / 3 - 2 / 3 * e], axis=-1)


def neg(t, y, args):  # module level: repeated eager solves reuse diffrax's compilation
    return -y


def decay(y0, ts, **kw):
    return jaxspin.odesolve(neg, y0, ts, solver=FAST, **kw).ys


def rates(W, p0, ts):
    return jaxspin.ratesolve(W, p0, ts, solver=FAST).ys


def me(H, rho0, ts, rates=None, **kw):
    return jaxspin.mesolve(H, [SM], rho0, ts, rates=rates, solver=FAST, **kw).ys


def me_reference(ts):
    lind = jaxspin.Lindbladian(SX, [SM])
    M = np.asarray(lind.real_superop())
    x0 = np.asarray(jaxspin.to_real(jnp.asarray(RHO0)))
    return np.stack([np.asarray(jaxspin.from_real(scipy.linalg.expm(M * t) @ x0, 2)) for t in ts])


def close(expected, rtol=1e-7, atol=1e-9):
    return lambda out: np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)


CASES = [
    # --- odesolve
    Case("ode_valid", lambda y: decay(y, TS), (1.0,), None, check=close(np.exp(-TS))),
    Case(
        "ode_repeated_times_valid",
        lambda y: decay(y, np.array([0.0, 1.0, 1.0])),
        (1.0,),
        None,
        check=close(np.exp(-np.array([0.0, 1.0, 1.0]))),
    ),
    Case(
        "ode_atol0_valid", lambda y: decay(y, TS, atol=0.0), (1.0,), None, check=close(np.exp(-TS))
    ),
    Case("ode_y0_nan", lambda y: decay(y, TS), (NAN,), ValueError, "`y0` contains NaN or inf"),
    Case(
        "ode_y0_inf", lambda y: decay(y, TS), (np.array([1.0, INF]),), ValueError, "`y0` contains"
    ),
    Case(
        "ode_ts_nan",
        lambda ts: decay(1.0, ts),
        (with_entry(TS, 1, NAN),),
        ValueError,
        "`ts` contains NaN",
    ),
    Case(
        "ode_ts_inf",
        lambda ts: decay(1.0, ts),
        (with_entry(TS, 2, INF),),
        ValueError,
        "`ts` contains NaN",
    ),
    Case("ode_ts_decreasing", lambda ts: decay(1.0, ts), (TS[::-1],), ValueError, "non-decreasing"),
    Case(
        "ode_rtol_negative",
        lambda r: decay(1.0, TS, rtol=r),
        (-1.0,),
        ValueError,
        "`rtol` must be finite",
    ),
    Case(
        "ode_atol_nan",
        lambda a: decay(1.0, TS, atol=a),
        (NAN,),
        ValueError,
        "`atol` must be finite",
    ),
    Case(
        "ode_tols_zero",
        lambda a: decay(1.0, TS, rtol=0.0, atol=a),
        (0.0,),
        ValueError,
        "cannot both be 0",
    ),
    Case(
        "ode_dt0_negative",
        lambda d: decay(1.0, TS, dt0=d),
        (-0.1,),
        ValueError,
        "`dt0` must be finite",
    ),
    Case(
        "ode_ts_empty",
        lambda: decay(1.0, np.zeros(0)),
        (),
        ValueError,
        "non-empty 1-D",
        static=True,
    ),
    Case(
        "ode_ts_2d",
        lambda: decay(1.0, np.zeros((2, 2))),
        (),
        ValueError,
        "non-empty 1-D",
        static=True,
    ),
    Case(
        "ode_max_steps_0",
        lambda: decay(1.0, TS, max_steps=0),
        (),
        ValueError,
        "`max_steps` must be >= 1",
        True,
    ),
    Case(
        "ode_max_steps_float",
        lambda: decay(1.0, TS, max_steps=2.5),
        (),
        ValueError,
        "`max_steps`",
        True,
    ),
    Case(
        "ode_rtol_python",
        lambda: decay(1.0, TS, rtol=-1.0),
        (),
        ValueError,
        "`rtol` must be finite",
        True,
    ),
    Case(
        "ode_solver_str",
        lambda: jaxspin.odesolve(neg, 1.0, TS, solver="tsit5"),
        (),
        ValueError,
        "`solver` must be a diffrax solver",
        static=True,
    ),
    Case(
        "ode_rhs",
        lambda: jaxspin.odesolve(3.0, 1.0, TS),
        (),
        ValueError,
        "`rhs` must be a callable",
        True,
    ),
    Case(
        "ode_throw",
        lambda: decay(1.0, TS, throw="no"),
        (),
        ValueError,
        "`throw` must be True or False",
        True,
    ),
    # --- mesolve
    Case(
        "me_valid", lambda r: me(SX, r, TS), (RHO0,), None, check=close(me_reference(TS), atol=1e-7)
    ),
    Case(
        "me_not_hermitian",
        lambda r: me(SX, r, TS),
        (np.array([[1, 1], [0, 0]], complex),),
        ValueError,
        "`rho0` is not Hermitian",
    ),
    Case(
        "me_rho0_nan",
        lambda r: me(SX, r, TS),
        (with_entry(RHO0, (1, 1), NAN),),
        ValueError,
        "`rho0` contains",
    ),
    Case(
        "me_ts_nan",
        lambda ts: me(SX, RHO0, ts),
        (with_entry(TS, 0, NAN),),
        ValueError,
        "`ts` contains NaN",
    ),
    Case(
        "me_ts_decreasing", lambda ts: me(SX, RHO0, ts), (TS[::-1],), ValueError, "non-decreasing"
    ),
    Case(
        "me_H_nan",
        lambda h: me(h, RHO0, TS),
        (with_entry(SX, (0, 1), NAN),),
        ValueError,
        "`H` contains NaN",
    ),
    Case(
        "me_H_not_hermitian", lambda h: me(h, RHO0, TS), (SM,), ValueError, "`H` is not Hermitian"
    ),
    Case(
        "me_rates_negative",
        lambda w: me(SX, RHO0, TS, rates=w),
        (-W2,),
        ValueError,
        "`rates` has negative entries",
    ),
    Case(
        "me_rho0_shape",
        lambda: me(SX, np.eye(3), TS),
        (),
        ValueError,
        "`rho0` must have shape (2, 2)",
        True,
    ),
    Case(
        "me_dense",
        lambda: me(SX, RHO0, TS, dense="yes"),
        (),
        ValueError,
        "`dense` must be True",
        True,
    ),
    Case(
        "me_dense_300",  # 389 GB of superoperator: refused before anything is built
        lambda: jaxspin.mesolve(
            jnp.zeros((300, 300)), None, jnp.eye(300) / 300, jnp.array([0.0, 1.0]), dense=True
        ),
        (),
        jaxspin.MemoryBudgetError,
        "mesolve (n = 300, dense superoperator",
        static=True,
    ),
    Case(
        "me_dense_3000",  # the example: SIGABRT in XLA before the check existed
        lambda: jaxspin.mesolve(
            jnp.zeros((3000, 3000)), None, jnp.eye(3000) / 3000, jnp.array([0.0, 1.0]), dense=True
        ),
        (),
        jaxspin.MemoryBudgetError,
        "mesolve (n = 3000, dense superoperator",
        static=True,
    ),
    # --- ratesolve
    Case("rs_valid", lambda w: rates(w, P0, TS), (W2,), None, check=close(exact_rates(TS))),
    Case(
        "rs_negative_rate",  # the example: p = (-0.99, 1.99) before
        lambda w: jaxspin.ratesolve(w, jnp.array([1.0, 0]), jnp.linspace(0, 5, 6)).ys,
        (np.array([[0.0, -1], [2, 0]]),),
        ValueError,
        "`W` has negative entries",
    ),
    Case(
        "rs_W_nan",
        lambda w: rates(w, P0, TS),
        (with_entry(W2, (1, 0), NAN),),
        ValueError,
        "`W` contains NaN",
    ),
    Case(
        "rs_p0_nan",
        lambda p: rates(W2, p, TS),
        (with_entry(P0, 1, NAN),),
        ValueError,
        "`p0` must be finite",
    ),
    Case(
        "rs_p0_negative",
        lambda p: rates(W2, p, TS),
        (np.array([-1.0, 2.0]),),
        ValueError,
        "`p0` must be",
    ),
    Case(
        "rs_ts_nan",
        lambda ts: rates(W2, P0, ts),
        (with_entry(TS, 2, NAN),),
        ValueError,
        "`ts` contains NaN",
    ),
    Case(
        "rs_n0",
        lambda: rates(np.zeros((0, 0)), np.zeros(0), TS),
        (),
        ValueError,
        "at least one state",
        True,
    ),
    Case(
        "rs_p0_shape", lambda: rates(W2, np.ones(3), TS), (), ValueError, "`p0` (n,)", static=True
    ),
    Case(
        "rs_batched", lambda: rates(np.stack([W2, W2]), P0, TS), (), ValueError, "one problem", True
    ),
    # --- propagate
    Case(
        "pr_valid",
        lambda a: jaxspin.propagate(a, P0, TS),
        (G2,),
        None,
        check=close(exact_rates(TS), 1e-12, 1e-14),
    ),
    Case(
        "pr_complex_y0_valid",  # a complex y0 with a real A stays complex (it was truncated)
        lambda y: jaxspin.propagate(G2, y, TS),
        (np.array([1.0, 1.0j]),),
        None,
        check=close(
            np.stack([scipy.linalg.expm(G2 * t) @ np.array([1.0, 1.0j]) for t in TS]), 1e-12, 1e-14
        ),
    ),
    Case(
        "pr_A_nan",
        lambda a: jaxspin.propagate(a, P0, TS),
        (with_entry(G2, (0, 0), NAN),),
        ValueError,
        "`A` contains",
    ),
    Case(
        "pr_y0_inf",
        lambda y: jaxspin.propagate(G2, y, TS),
        (with_entry(P0, 0, INF),),
        ValueError,
        "`y0` contains",
    ),
    Case(
        "pr_ts_nan",
        lambda ts: jaxspin.propagate(G2, P0, ts),
        (with_entry(TS, 1, NAN),),
        ValueError,
        "`ts` contains",
    ),
    Case(
        "pr_nonsquare",
        lambda: jaxspin.propagate(np.ones((2, 3)), P0, TS),
        (),
        ValueError,
        "`A` must have shape",
        True,
    ),
    Case(
        "pr_y0_shape",
        lambda: jaxspin.propagate(G2, np.ones(3), TS),
        (),
        ValueError,
        "`y0` must have shape",
        True,
    ),
    Case(
        "pr_ts_empty",
        lambda: jaxspin.propagate(G2, P0, np.zeros(0)),
        (),
        ValueError,
        "non-empty 1-D",
        True,
    ),
    Case(
        "pr_ts_scalar",
        lambda: jaxspin.propagate(G2, P0, 1.0),
        (),
        ValueError,
        "non-empty 1-D",
        True,
    ),
]
TRACED_BY_DEFAULT = {
    "ode_y0_nan": ("jit",),
    "me_not_hermitian": ("vmap",),
    "rs_W_nan": ("filter_jit",),
    "pr_A_nan": ("jit",),
}
SLOW_ROWS = {"me_dense_3000", "ode_atol0_valid"}  # 4 s of 3000 x 3000 input; a recompilation
FAST_CASES, SLOW_CASES = split_modes(CASES, TRACED_BY_DEFAULT, SLOW_ROWS)


@pytest.mark.parametrize("case, mode", FAST_CASES)
def test_case(case, mode):
    expect(case, mode)


@pytest.mark.slow
@pytest.mark.parametrize("case, mode", SLOW_CASES)
def test_case_other_modes(case, mode):
    expect(case, mode)


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: jaxspin.mesolve(SX, [SM], RHO0, TS, dense=True), "mesolve (n = 2, dense"),
        (lambda: jaxspin.odesolve(neg, jnp.ones(30), TS), "odesolve (Kvaerno5, 30"),
        (lambda: jaxspin.ratesolve(np.ones((30, 30)), np.ones(30), TS), "ratesolve (Kvaerno5"),
        (
            lambda: jaxspin.propagate(np.eye(30), np.ones(30), TS),
            "30 x 30 matrix exponential, 3 times",
        ),
    ],
)
def test_memory_refused_with_the_number(monkeypatch, call, what):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1K")
    with pytest.raises(jaxspin.MemoryBudgetError, match="needs about") as info:
        call()
    assert what in str(info.value)


def test_explicit_solver_needs_no_jacobian_memory(monkeypatch):
    """The Jacobian estimate applies to implicit solvers only: with 32 B allowed (80 % of
    40), Tsit5 on one variable fits (3 saved states: 24 B), Kvaerno5 (its 1 x 1 Jacobian
    and LU add 16 B) does not."""
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "40")
    np.testing.assert_allclose(decay(1.0, TS), np.exp(-TS), rtol=1e-7)
    with pytest.raises(jaxspin.MemoryBudgetError, match="Kvaerno5, 1 state variables"):
        jaxspin.odesolve(neg, 1.0, TS)


# ---------------------------------------------------------------------------------------
# throw=False: a bad point is NaN with a result code, not integrated; the rest go on
# ---------------------------------------------------------------------------------------
NONFINITE = int(diffrax.RESULTS.nonfinite._value)


def assert_only_first_good(traj, reference):
    """Point 0 solved as alone; every other point NaN, code ``nonfinite``, 0 steps."""
    codes = np.asarray(traj.result._value)
    assert codes[0] == 0 and np.all(codes[1:] == NONFINITE)
    assert np.all(np.isnan(np.asarray(traj.ys[1:])))
    assert np.all(np.asarray(traj.num_steps[1:]) == 0)  # not integrated: costs the batch nothing
    np.testing.assert_allclose(traj.ys[0], reference, rtol=1e-13, atol=1e-15)


def test_throw_false_odesolve_eager():
    """No exception, the code says what happened (eagerly, one point)."""
    traj = jaxspin.odesolve(neg, jnp.asarray(NAN), TS, solver=FAST, throw=False)
    assert bool(traj.result == diffrax.RESULTS.nonfinite) and np.all(np.isnan(np.asarray(traj.ys)))


@pytest.mark.slow
def test_throw_false_odesolve_vmap():
    f = lambda y0, ts: jaxspin.odesolve(neg, y0, ts, solver=FAST, throw=False)
    y0s = jnp.array([1.0, NAN, 1.0])
    tss = jnp.stack([jnp.asarray(TS), jnp.asarray(TS), jnp.asarray(TS[::-1])])
    assert_only_first_good(jax.vmap(f)(y0s, tss), decay(1.0, TS))


def test_throw_false_ratesolve_vmap():
    f = lambda W, p0, ts: jaxspin.ratesolve(W, p0, ts, solver=FAST, throw=False)
    Ws = jnp.stack([jnp.asarray(W2), jnp.asarray(-W2), jnp.asarray(W2), jnp.asarray(W2)])
    p0s = jnp.stack([jnp.asarray(P0), jnp.asarray(P0), jnp.array([NAN, 0.0]), jnp.asarray(P0)])
    tss = jnp.stack([jnp.asarray(TS)] * 3 + [jnp.asarray(with_entry(TS, 1, NAN))])
    assert_only_first_good(jax.vmap(f)(Ws, p0s, tss), rates(W2, P0, TS))


@pytest.mark.slow
def test_throw_false_mesolve_vmap():
    f = lambda h, r: jaxspin.mesolve(h * jnp.asarray(SX), [SM], r, TS, solver=FAST, throw=False)
    hs = jnp.array([1.0, NAN, 1.0], complex)
    rhos = jnp.stack([jnp.asarray(RHO0), jnp.asarray(RHO0), jnp.array([[1, 1], [0, 0]], complex)])
    assert_only_first_good(jax.vmap(f)(hs, rhos), me(SX, RHO0, TS))
