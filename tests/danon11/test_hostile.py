"""Hostile input for danon11 (issue 16): every refusal names the argument, holds eagerly and
under ``jit``/``vmap``, and ``throw=False`` turns a bad point into NaN (and a result code)
for that point only. Valid calls in the same tables prove the checks refuse nothing good."""

import functools

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
from jaxspin.danon11 import (
    DoubleDot,
    SingleDot,
    build_up,
    fit_build_up,
    fixed_points,
    follow_branch,
    hysteresis,
    nuclear_coefficients,
    nuclear_rate,
    spin_response,
    spin_response_single,
)
from tests import hostile


# A staged check raises at run time: EquinoxRuntimeError (eager vmap, filter_jit),
# JaxRuntimeError (first call of a jax.jit) or, on jax 0.9.2, a plain ValueError from the
# C++ fast path of a cached jax.jit executable. The message fragment is checked in all.
TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError, ValueError)
LAPACK = jaxspin.DenseLU(unroll_max=0)
DOT = SingleDot(0.2, 1.0, coupling=1.0, num_nuclei=100.0)
DD = DoubleDot(5.0, 0.5, 1.0, coupling=10.0, num_nuclei=10.0, nuclear_relaxation=1e-3)
SX, SY, SZ, SP, SM = jaxspin.spin_operators(0.5)
OPS = jnp.stack([SX, SY, SZ])
LIND = jaxspin.Lindbladian(-1.0 * SZ, [jnp.sqrt(0.5) * SM])


@functools.cache
def resp():
    return eqx.filter_jit(lambda: DOT.response(0.5, solver=LAPACK))()


def codes(result):
    return np.asarray(result._value)


OK, NONFINITE = int(jaxspin.RESULTS.successful._value), int(jaxspin.RESULTS.nonfinite._value)


# ---- value checks on one array argument: (id, f(x), bad x, good x, message fragment) ----
# f builds the object from x, so each case runs eagerly, under jax.jit and under jax.vmap.
VALUE_CASES = [
    ("SingleDot.gamma_up<0", lambda x: SingleDot(x, 1.0).gamma_up, -0.2, 0.2, "`gamma_up`"),
    (
        "SingleDot.gamma_down=nan",
        lambda x: SingleDot(0.2, x).gamma_down,
        np.nan,
        1.0,
        "`gamma_down`",
    ),
    (
        "SingleDot.coupling=inf",
        lambda x: SingleDot(0.2, 1.0, coupling=x).coupling,
        np.inf,
        1.0,
        "`coupling`",
    ),
    (
        "SingleDot.num_nuclei=0",
        lambda x: SingleDot(0.2, 1.0, num_nuclei=x).num_nuclei,
        0.0,
        10.0,
        "`num_nuclei`",
    ),
    (
        "SingleDot.nuclear_relaxation<0",
        lambda x: SingleDot(0.2, 1.0, nuclear_relaxation=x).nuclear_relaxation,
        -1e-3,
        1e-3,
        "`nuclear_relaxation`",
    ),
    ("DoubleDot.gamma=0", lambda x: DoubleDot(5.0, 0.5, x).gamma, 0.0, 1.0, "`gamma`"),
    (
        "DoubleDot.detuning=nan",
        lambda x: DoubleDot(x, 0.5, 1.0).detuning,
        np.nan,
        5.0,
        "`detuning`",
    ),
    ("DoubleDot.tunnel=inf", lambda x: DoubleDot(5.0, x, 1.0).tunnel, np.inf, 0.5, "`tunnel`"),
    # the case: a negative rate reached the closed forms
    (
        "SingleDot(-0.2).closed_form_rate",
        lambda x: SingleDot(x, 1.0).closed_form_rate(0.0, 1.0),
        -0.2,
        0.2,
        "`gamma_up`",
    ),
    (
        "closed forms need Γ > 0",
        lambda x: SingleDot(x, x).closed_form_populations(),
        0.0,
        0.5,
        "Γ = gamma_up + gamma_down > 0",
    ),
    ("closed_form_rate k_z>K", lambda x: DOT.closed_form_rate(x, 1.0), 0.7, 0.3, "`k_z`"),
    (
        "closed_form_chi b_eff=nan",
        lambda x: DOT.closed_form_chi_asymmetry(x),
        np.nan,
        1.0,
        "`b_eff`",
    ),
    ("golden_rule_rates k_z<-K", lambda x: DOT.golden_rule_rates(x, 1.0)[0], -0.6, -0.4, "`k_z`"),
    ("DoubleDot.closed_form_rate k_z", lambda x: DD.closed_form_rate(x, 4.0), 0.51, 0.5, "`k_z`"),
    (
        "DoubleDot.golden_rule_rate b=inf",
        lambda x: DD.golden_rule_rate(0.0, x),
        np.inf,
        4.0,
        "`b_eff`",
    ),
    # the case: |k_z| > K was accepted by pumping_rate
    ("pumping_rate |k_z|>K", lambda x: DOT.pumping_rate(x, 0.5, solver=LAPACK), 2.0, 0.1, "`k_z`"),
    (
        "pumping_rate b_eff=nan",
        lambda x: DOT.pumping_rate(0.1, x, solver=LAPACK),
        np.nan,
        0.5,
        "`b_eff`",
    ),
    (
        "polarization_rate k_z=nan",
        lambda x: DOT.polarization_rate(x, 0.5, solver=LAPACK),
        np.nan,
        0.0,
        "`k_z`",
    ),
    ("response b_eff=inf", lambda x: DOT.response(x, solver=LAPACK).chi, np.inf, 0.5, "`b_eff`"),
    (
        "nuclear_coefficients coupling=nan",
        lambda x: nuclear_coefficients(DOT.response(0.5, solver=LAPACK), x).P,
        np.nan,
        0.01,
        "`coupling`",
    ),
    (
        "nuclear_rate k_mean=inf",
        lambda x: nuclear_rate(
            DOT.response(0.5, solver=LAPACK), jnp.stack([0.0, 0.0, x]), coupling=0.01
        ),
        np.inf,
        0.1,
        "`k_mean`",
    ),
    (
        "spin_response_single spin_ops not Hermitian",
        lambda x: (
            spin_response_single(LIND, OPS.at[0, 0, 1].add(x.astype(OPS.dtype)), solver=LAPACK).chi
        ),
        0.5,
        0.0,
        "not Hermitian",
    ),
    ("build_up k0>K", lambda x: build_up(DOT, 0.5, jnp.array([0.0, 1.0]), x).ys, 0.8, 0.1, "`k0`"),
]

IDS = [c[0] for c in VALUE_CASES]


@pytest.mark.parametrize("name, fn, bad, good, match", VALUE_CASES, ids=IDS)
def test_refused_eagerly(name, fn, bad, good, match):
    hostile.refused_eagerly(fn, bad, match)


JIT_IDS = [
    "SingleDot.gamma_up<0",
    "SingleDot.num_nuclei=0",
    "DoubleDot.gamma=0",
    "SingleDot(-0.2).closed_form_rate",
    "closed forms need Γ > 0",
    "closed_form_rate k_z>K",
    "pumping_rate |k_z|>K",
    "response b_eff=inf",
    "spin_response_single spin_ops not Hermitian",
]
JIT_CASES = [c for c in VALUE_CASES if c[0] in JIT_IDS]


@pytest.mark.parametrize("name, fn, bad, good, match", JIT_CASES, ids=JIT_IDS)
def test_refused_under_jit_and_vmap_valid_call_unchanged(name, fn, bad, good, match):
    hostile.jit_unchanged(fn, good)
    hostile.refused_traced(fn, good, bad, match, "jit")
    # vmap: one bad point refuses the batch (throw=True semantics)
    hostile.refused_traced(fn, good, bad, match, "jit_vmap")


# ---- Python-level arguments (sizes, shapes, names): plain eager errors -----------------
TS = jnp.linspace(0.0, 10.0, 3)
STATIC_CASES = [
    # the case: grid_size=1 found 0 of the roots silently
    (
        "fixed_points grid_size=1",
        lambda: fixed_points(DD, 10.0, grid_size=1),
        ValueError,
        "`grid_size` must be >= 3",
    ),
    (
        "fixed_points grid_size=2.5",
        lambda: fixed_points(DD, 10.0, grid_size=2.5),
        ValueError,
        "`grid_size`",
    ),
    (
        "fixed_points max_roots=0",
        lambda: fixed_points(DD, 10.0, max_roots=0),
        ValueError,
        "`max_roots` must be >= 1",
    ),
    ("fixed_points xtol=0", lambda: fixed_points(DD, 10.0, xtol=0.0), ValueError, "`xtol`"),
    (
        "fixed_points b_ext=nan",
        lambda: fixed_points(DD, np.nan, grid_size=9),
        ValueError,
        "`b_ext`",
    ),
    ("fixed_points model", lambda: fixed_points("dot", 1.0), TypeError, "`model`"),
    ("follow_branch empty path", lambda: follow_branch(DD, []), ValueError, "`b_ext_path`"),
    (
        "follow_branch nan path",
        lambda: follow_branch(DD, [1.0, np.nan]),
        ValueError,
        "`b_ext_path` contains NaN",
    ),
    ("follow_branch k0>K", lambda: follow_branch(DD, [1.0], k0=1.0), ValueError, "`k0`"),
    ("hysteresis empty", lambda: hysteresis(DD, []), ValueError, "`b_ext_values`"),
    ("build_up empty ts", lambda: build_up(DOT, 0.5, jnp.zeros(0)), ValueError, "`ts`"),
    (
        "build_up decreasing ts",
        lambda: build_up(DOT, 0.5, jnp.array([1.0, 0.0])),
        ValueError,
        "`ts` must be finite and non-decreasing",
    ),
    ("build_up rtol=0", lambda: build_up(DOT, 0.5, TS, rtol=0.0), ValueError, "`rtol`"),
    (
        "build_up max_steps=0",
        lambda: build_up(DOT, 0.5, TS, max_steps=0),
        ValueError,
        "`max_steps`",
    ),
    ("build_up b_ext=inf", lambda: build_up(DOT, np.inf, TS), ValueError, "`b_ext`"),
    (
        "SingleDot nuclear_spin=nan",
        lambda: SingleDot(0.2, 1.0, nuclear_spin=np.nan),
        ValueError,
        "`nuclear_spin`",
    ),
    (
        "SingleDot nuclear_spin=0",
        lambda: SingleDot(0.2, 1.0, nuclear_spin=0.0),
        ValueError,
        "`nuclear_spin`",
    ),
    (
        "nuclear_coefficients nuclear_spin=inf",
        lambda: nuclear_coefficients(resp(), 0.01, nuclear_spin=np.inf),
        ValueError,
        "`nuclear_spin`",
    ),
    (
        "nuclear_coefficients response",
        lambda: nuclear_coefficients(OPS, 0.01),
        TypeError,
        "`response`",
    ),
    (
        "spin_response_single lindbladian",
        lambda: spin_response_single(-1.0 * SZ, OPS),
        TypeError,
        "`lindbladian`",
    ),
    (
        "spin_response spin_ops=nan",
        lambda: spin_response(-1.0 * SZ, [SM], OPS * np.nan),
        ValueError,
        "`spin_ops` contains NaN",
    ),
    (
        "fit_build_up fields=''",
        lambda: fit_build_up(DD, TS, jnp.zeros(3), b_ext=8.0, fields=()),
        ValueError,
        "`fields` is empty",
    ),
    (
        "fit_build_up fields str",
        lambda: fit_build_up(DD, TS, jnp.zeros(3), b_ext=8.0, fields="gamma"),
        ValueError,
        "not the string",
    ),
    (
        "fit_build_up fields twice",
        lambda: fit_build_up(DD, TS, jnp.zeros(3), b_ext=8.0, fields=("gamma", "gamma")),
        ValueError,
        "twice",
    ),
    (
        "fit_build_up negative start",
        lambda: fit_build_up(
            DoubleDot(-5.0, 0.5, 1.0), TS, jnp.zeros(3), b_ext=8.0, fields=("detuning",)
        ),
        ValueError,
        "must be > 0",
    ),
    (
        "fit_build_up length mismatch",
        lambda: fit_build_up(DD, TS, jnp.zeros(4), b_ext=8.0),
        ValueError,
        "`ts` and `k_z`",
    ),
    (
        "fit_build_up empty",
        lambda: fit_build_up(DD, jnp.zeros(0), jnp.zeros(0), b_ext=8.0),
        ValueError,
        "non-empty",
    ),
    (
        "fit_build_up k0>K",
        lambda: fit_build_up(DD, TS, jnp.zeros(3), b_ext=8.0, k0=0.9),
        ValueError,
        "`k0`",
    ),
]


@pytest.mark.parametrize("name, call, exc, match", STATIC_CASES, ids=[c[0] for c in STATIC_CASES])
def test_static_arguments_refused(name, call, exc, match):
    hostile.refused(call, exc, match)


def test_valid_boundary_values_accepted():
    # a polarisation at exactly ±K is valid (and agrees with the closed form)
    np.testing.assert_allclose(
        DOT.closed_form_rate(0.5, 1.0), DOT.pumping_rate(0.5, 1.0, solver=LAPACK), rtol=1e-10
    )
    assert np.isfinite(float(DOT.polarization_rate(-0.5, 0.5, solver=LAPACK)))
    # Γ = 0 is a valid model (its steady state is reported singular, as data)
    assert float(SingleDot(0.0, 0.0).gamma) == 0.0


@pytest.mark.slow
def test_fixed_points_smallest_grid_and_truncation():
    """``grid_size = 3`` is accepted; more roots than ``max_roots`` is flagged, not
    silently dropped."""
    fp = fixed_points(DOT, 0.5, grid_size=3, max_roots=1)
    assert fp.k_z.shape == (1,) and int(fp.count) == 1 and not bool(fp.truncated)
    all_roots = fixed_points(DD, 9.0, grid_size=129, max_roots=1)
    assert bool(all_roots.truncated) and int(all_roots.count) == 1
    all_roots = fixed_points(DD, 9.0, grid_size=129)
    assert int(all_roots.count) >= 2 and not bool(all_roots.truncated)


# ---- throw=False: NaN and a result code for the bad point only --------------------------
def test_throw_false_marks_only_the_bad_point():
    ks = jnp.array([0.1, 2.0, np.nan])
    rates = jax.jit(jax.vmap(lambda k: DOT.pumping_rate(k, 0.5, solver=LAPACK, throw=False)))(ks)
    np.testing.assert_array_equal(np.isnan(rates), [False, True, True])
    np.testing.assert_allclose(rates[0], DOT.closed_form_rate(0.1, 0.5), rtol=1e-10)

    r = eqx.filter_jit(jax.vmap(lambda b: DOT.response(b, solver=LAPACK, throw=False)))(
        jnp.array([0.5, np.inf])
    )
    np.testing.assert_array_equal(codes(r.result), [OK, NONFINITE])
    assert np.all(np.isfinite(r.chi[0])) and np.all(np.isnan(r.chi[1]))
    np.testing.assert_allclose(r.chi[0], resp().chi, rtol=1e-14)

    # traced non-Hermitian spin operators: data, not an exception
    r = eqx.filter_jit(
        jax.vmap(
            lambda x: spin_response_single(
                LIND, OPS.at[0, 0, 1].add(x.astype(OPS.dtype)), solver=LAPACK, throw=False
            )
        )
    )(jnp.array([0.0, 0.5]))
    np.testing.assert_array_equal(codes(r.result), [OK, NONFINITE])
    assert np.all(np.isfinite(r.chi[0])) and np.all(np.isnan(r.chi[1]))


@pytest.mark.slow
def test_build_up_throw_false_marks_only_the_bad_point():
    traj = eqx.filter_jit(jax.vmap(lambda k: build_up(DOT, 0.5, TS, k, throw=False)))(
        jnp.array([0.0, 0.9])
    )
    np.testing.assert_array_equal(
        codes(traj.result),
        [int(diffrax.RESULTS.successful._value), int(diffrax.RESULTS.nonfinite_input._value)],
    )
    assert np.all(np.isfinite(traj.ys[0])) and np.all(np.isnan(traj.ys[1]))
    with pytest.raises(TRACED_ERRORS) as err:
        jax.block_until_ready(jax.jit(lambda k: build_up(DOT, 0.5, TS, k).ys)(0.9))
    assert "`k0`" in str(err.value)
