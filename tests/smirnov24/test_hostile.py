"""Hostile input for smirnov24 (issue 16): every refusal names the argument and holds
eagerly and under ``jit``/``vmap``; ``throw=False`` keeps a failed point as NaN plus its
result code. Valid calls in the same tables prove the checks refuse nothing good."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

import jaxspin.smirnov24 as s24
from tests import hostile


# A staged check raises at run time: EquinoxRuntimeError (eager vmap, filter_jit),
# JaxRuntimeError (first call of a jax.jit) or, on jax 0.9.2, a plain ValueError from the
# C++ fast path of a cached jax.jit executable. The message fragment is checked in all.
TRACED_ERRORS = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError, ValueError)
P = s24.Parameters(1.0, n_i=1e4)
short = s24.inverse_spin_temperature_short  # cheap to compile: the jit cases use it


# ---- value checks on one array argument: (id, f(x), bad x, good x, message fragment) ----
VALUE_CASES = [
    # the issue's case: a traced negative tau gave the tau = +1 value under jit
    (
        "Parameters.paper tau_c<0",
        lambda x: s24.inverse_spin_temperature(s24.Parameters.paper(x), 1.0),
        -1.0,
        1.0,
        "`tau_c`",
    ),
    ("Parameters tau_c=inf", lambda x: short(s24.Parameters(x), 1.0), np.inf, 0.0, "`tau_c`"),
    (
        "Parameters b_local=0",
        lambda x: short(s24.Parameters(1.0, b_local=x), 1.0),
        0.0,
        0.5,
        "`b_local`",
    ),
    (
        "Parameters b_local=nan",
        lambda x: short(s24.Parameters(1.0, b_local=x), 1.0),
        np.nan,
        0.5,
        "`b_local`",
    ),
    (
        "Parameters delta_b<0",
        lambda x: short(s24.Parameters(1.0, delta_b=x), 1.0),
        -1.0,
        np.inf,
        "`delta_b`",
    ),
    # under jit a field's check travels with the field: use a function that reads n_i
    (
        "Parameters n_i=0",
        lambda x: s24.optimal_field_small_n(s24.Parameters(1.0, n_i=x)),
        0.0,
        1e4,
        "`n_i`",
    ),
    (
        "Parameters n_i=nan",
        lambda x: short(s24.Parameters(1.0, n_i=x), 1.0),
        np.nan,
        np.inf,
        "`n_i`",
    ),
    ("Parameters s_z=0.7", lambda x: short(s24.Parameters(1.0, s_z=x), 1.0), 0.7, -0.5, "`s_z`"),
    (
        "Parameters mean_overhauser=inf",
        lambda x: short(s24.Parameters(1.0, mean_overhauser=x), 1.0),
        np.inf,
        0.1,
        "`mean_overhauser`",
    ),
    ("field=nan", lambda x: short(P, x), np.nan, -2.0, "`field`"),
    (
        "nuclear_relaxation_time filling=0",
        lambda x: s24.nuclear_relaxation_time(P, 0.0, x),
        0.0,
        0.5,
        "`filling`",
    ),
    (
        "nuclear_relaxation_time n_i=inf",
        lambda x: s24.nuclear_relaxation_time(s24.Parameters(1.0, n_i=x), 0.0),
        np.inf,
        1e4,
        "finite `params.n_i`",
    ),
    (
        "rotation_interpolated n_i<0",
        lambda x: s24.rotation_interpolated(1.0, x),
        -4.0,
        4.0,
        "`n_i`",
    ),
    (
        "rotation_interpolated tau_c=nan",
        lambda x: s24.rotation_interpolated(x, 4.0),
        np.nan,
        2.0,
        "`tau_c`",
    ),
    (
        "mean_overhauser_from_beta n_i<0",
        lambda x: s24.mean_overhauser_from_beta(1.0, 1.0, x),
        -4.0,
        4.0,
        "`n_i`",
    ),
    (
        "mean_overhauser_from_beta beta=inf",
        lambda x: s24.mean_overhauser_from_beta(x, 1.0, 4.0),
        np.inf,
        0.3,
        "`beta`",
    ),
]
IDS = [c[0] for c in VALUE_CASES]


@pytest.mark.parametrize("name, fn, bad, good, match", VALUE_CASES, ids=IDS)
def test_refused_eagerly(name, fn, bad, good, match):
    hostile.refused_eagerly(fn, bad, match)


JIT_IDS = [
    "Parameters.paper tau_c<0",
    "Parameters b_local=nan",
    "Parameters n_i=0",
    "Parameters s_z=0.7",
    "field=nan",
    "rotation_interpolated n_i<0",
    "mean_overhauser_from_beta n_i<0",
]
JIT_CASES = [c for c in VALUE_CASES if c[0] in JIT_IDS]


@pytest.mark.parametrize("name, fn, bad, good, match", JIT_CASES, ids=JIT_IDS)
def test_refused_under_jit_and_vmap_valid_call_unchanged(name, fn, bad, good, match):
    hostile.jit_unchanged(fn, good)
    hostile.refused_traced(fn, good, bad, match, "jit")
    hostile.refused_traced(fn, good, bad, match, "vmap")


def test_issue_case_negative_tau_is_not_the_positive_one():
    """The issue's reproduction: under jit, tau = -1 used to return the tau = +1 value."""
    f = eqx.filter_jit(lambda t: s24.inverse_spin_temperature(s24.Parameters.paper(t), 1.0))
    assert np.isfinite(float(f(1.0)))
    with pytest.raises(TRACED_ERRORS, match="tau_c"):
        jax.block_until_ready(f(-1.0))


# ---- eager arguments (shapes, names, Python numbers) ----------------------------------
STATIC_CASES = [
    (
        "Parameters shapes",
        lambda: s24.Parameters(jnp.ones(3), b_local=jnp.ones(2)),
        ValueError,
        "must broadcast together",
    ),
    (
        "fit free str",
        lambda: s24.fit_polarization(jnp.ones(3), jnp.ones(3), P, free="tau_c"),
        ValueError,
        "not the string",
    ),
    (
        "fit free empty",
        lambda: s24.fit_polarization(jnp.ones(3), jnp.ones(3), P, free=()),
        ValueError,
        "`free` is empty",
    ),
    (
        "fit empty data",
        lambda: s24.fit_polarization(jnp.ones(0), jnp.ones(0), P),
        ValueError,
        "non-empty",
    ),
    (
        "fit field=nan",
        lambda: s24.fit_polarization(jnp.array([1.0, np.nan]), jnp.ones(2), P),
        ValueError,
        "`field`",
    ),
    (
        "optimal_field num_grid=2",
        lambda: s24.optimal_field(P, num_grid=2),
        ValueError,
        "`num_grid`",
    ),
    (
        "nuclear_relaxation_minimum num_grid=1.5",
        lambda: s24.nuclear_relaxation_minimum(P, num_grid=1.5),
        ValueError,
        "`num_grid`",
    ),
    (
        "spin_temperature_threshold nan",
        lambda: s24.spin_temperature_threshold(math.nan, t1_min=4.0),
        ValueError,
        "`hyperfine_total_uev`",
    ),
    (
        "spin_temperature_threshold t1_min<0",
        lambda: s24.spin_temperature_threshold(t1_min=-1.0),
        ValueError,
        "`t1_min`",
    ),
    (
        "effective_nuclei spin=nan",
        lambda: s24.effective_nuclei(1e4, math.nan),
        ValueError,
        "`spin`",
    ),
    ("effective_nuclei spin=0.7", lambda: s24.effective_nuclei(1e4, 0.7), ValueError, "`spin`"),
    ("effective_nuclei n<0", lambda: s24.effective_nuclei(-1.0, 0.5), ValueError, "`n`"),
    ("t2e_star a<0", lambda: s24.t2e_star(-1e-25, 1e4), ValueError, "`hyperfine_j`"),
    (
        "t2e_star_from_total n=0",
        lambda: s24.t2e_star_from_total(100.0, 0.0, 1.5),
        ValueError,
        "`n`",
    ),
    ("electron_field g_e=0", lambda: s24.electron_field(1e-9, 0.0), ValueError, "`g_e`"),
    (
        "electron_field t=nan",
        lambda: s24.electron_field(math.nan, -0.4),
        ValueError,
        "`t2e_star_s`",
    ),
    (
        "inverse_temperature_si gamma_n=0",
        lambda: s24.inverse_temperature_si(1.0, 0.0, 1.0),
        ValueError,
        "`gamma_n`",
    ),
    (
        "spin_temperature_kelvin unit<0",
        lambda: s24.spin_temperature_kelvin(1.0, "75As", -1.0),
        ValueError,
        "`field_unit_tesla`",
    ),
    ("mean_nuclear_spin s_z=1", lambda: s24.mean_nuclear_spin(0.5, 1.5, 1.0), ValueError, "`s_z`"),
    (
        "heating_time_unit filling=0",
        lambda: s24.heating_time_unit(1e-9, 1.0, 1e4, 0.0),
        ValueError,
        "`filling`",
    ),
]


@pytest.mark.parametrize("name, call, exc, match", STATIC_CASES, ids=[c[0] for c in STATIC_CASES])
def test_static_arguments_refused(name, call, exc, match):
    hostile.refused(call, exc, match)


def test_valid_calls_unchanged():
    # the unit helpers with valid input give the formulas' numbers
    assert s24.effective_nuclei(1e4, 0.5) == pytest.approx(1e4, rel=1e-15)
    t2 = s24.t2e_star_from_total(100.0, 1e5, 1.5)
    assert s24.heating_time_unit(t2, 2.0, 1e4, 0.5) == pytest.approx(2 * 1e4 * t2 / 1.0)
    assert s24.mean_nuclear_spin(0.5, 1.5, -0.5) == pytest.approx(-1.25, rel=1e-15)
    # boundary values of the parameters are valid
    p = s24.Parameters(0.0, delta_b=np.inf, n_i=np.inf, s_z=0.5)
    np.testing.assert_allclose(s24.inverse_spin_temperature(p, 1.0), short(p, 1.0), rtol=1e-12)


def test_optimal_field_throw_false_is_nan_for_the_failed_point_only():
    # num_grid=4 brackets the long-τc, small-N_I point too coarsely: Newton fails there
    p = s24.Parameters.paper(jnp.array([1e-3, 1e3]), n_i=1e2)
    res = s24.optimal_field(p, num_grid=4, throw=False)
    codes = np.asarray(res.result._value)
    assert codes[0] == int(optx.RESULTS.successful._value) and codes[1] != codes[0]
    assert np.isnan(float(res.field[1])) and np.isnan(float(res.beta_max[1]))
    np.testing.assert_allclose(res.field[0], 1.0, rtol=1e-5)  # B0 -> B̃_L at short τc
    with pytest.raises(TRACED_ERRORS, match="did not converge"):
        jax.block_until_ready(s24.optimal_field(p, num_grid=4).field)
