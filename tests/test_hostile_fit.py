"""Hostile input to :func:`jaxspin.fit` and its transforms (issue 16).

Every bad value is refused eagerly with the argument's name, refused the same way inside
``eqx.filter_jit`` and ``jax.vmap`` (``eqx.error_if``), and with ``throw=False`` becomes the
result ``invalid_input`` (NaN) for that fit only: one bad data set in a ``vmap`` of fits
leaves the others' results as they are.

Code: jaxspin/_fit.py, jaxspin/_transform.py. The model is a straight line (fits in a few
steps; each traced variant below is compiled once and reused for every case).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin._fit import FitResults, fit
from jaxspin._transform import Bounded, Identity, Positive


X = jnp.linspace(0.0, 1.0, 8)
Y = 2.0 * X + 1.0 + 0.01 * jnp.sin(40.0 * X)
SIGMA = 0.01


def line(p, x):
    return p["a"] * x + p["b"]


def run(y=Y, sigma=SIGMA, a0=1.5, lower=0.0, *, throw=True, **kw):
    """One fit of ``line``: ``a`` in Bounded(lower, 10), ``b`` free."""
    tx = {"a": Bounded(lower, 10.0), "b": Identity()}
    return fit(line, {"a": a0, "b": 0.0}, X, y, sigma=sigma, transforms=tx, throw=throw, **kw)


TRACED = (eqx.EquinoxRuntimeError, jax.errors.JaxRuntimeError)


# ----------------------------------------------------------- values: eager, jit, vmap

# (argument, bad value, message fragment)
VALUE_CASES = [
    ("y", Y.at[3].set(jnp.nan), "`y` contains NaN or inf"),
    ("y", Y.at[0].set(jnp.inf), "`y` contains NaN or inf"),
    ("sigma", 0.0, "`sigma` must be finite and > 0"),
    ("sigma", -0.01, "`sigma` must be finite and > 0"),
    ("sigma", jnp.nan, "`sigma` must be finite and > 0"),
    ("sigma", jnp.inf, "`sigma` must be finite and > 0"),
    ("a0", 11.0, r"Initial value of \['a'\] is NaN or inf, or lies outside the domain"),
    ("a0", 0.0, r"Initial value of \['a'\]"),  # on the (open) bound
    ("a0", jnp.nan, r"Initial value of \['a'\]"),
    # concrete bounds are refused by Bounded itself; traced ones by fit, naming the leaf
    ("lower", 10.0, "needs finite bounds with lower < upper"),
    ("lower", 20.0, "needs finite bounds with lower < upper"),
    ("lower", -jnp.inf, "needs finite bounds with lower < upper"),
]
GOOD = dict(y=Y, sigma=SIGMA, a0=1.5, lower=0.0)


def _batch(name, bad):
    """Two fits: the good one, then the one with ``name`` bad."""
    args = {k: jnp.stack([jnp.asarray(v, float)] * 2) for k, v in GOOD.items()}
    args[name] = args[name].at[1].set(bad)
    return args


@pytest.mark.parametrize("name, bad, match", VALUE_CASES)
def test_bad_value_eagerly(name, bad, match):
    with pytest.raises(ValueError, match=match):
        run(**(GOOD | {name: bad}))
    if name == "lower":  # Bounded(bad, 10.0) is refused when it is built, whatever `throw`
        with pytest.raises(ValueError, match=match):
            run(**(GOOD | {name: bad}), throw=False)
        return
    res = run(**(GOOD | {name: bad}), throw=False)  # no raise: a result code and NaN
    assert res.result == FitResults.invalid_input and not res.converged
    assert np.isnan(float(res.params["a"])) and np.isnan(float(res.chi2))
    assert "invalid" in res.summary()


_jitted = eqx.filter_jit(lambda y, sigma, a0, lower: run(y, sigma, a0, lower))
_vmapped = eqx.filter_jit(jax.vmap(lambda y, sigma, a0, lower: run(y, sigma, a0, lower)))
_vmapped_no_throw = eqx.filter_jit(
    jax.vmap(lambda y, sigma, a0, lower: run(y, sigma, a0, lower, throw=False))
)


@pytest.mark.parametrize("name, bad, match", VALUE_CASES)
def test_bad_value_under_jit_and_vmap(name, bad, match):
    one = {k: jnp.asarray(v, float) for k, v in (GOOD | {name: bad}).items()}
    with pytest.raises(TRACED, match=match) as err:
        jax.block_until_ready(_jitted(**one))
    if name == "lower":
        assert "The Bounded transform of ['a']" in str(err.value)
    with pytest.raises(TRACED, match=match):
        jax.block_until_ready(_vmapped(**_batch(name, bad)))
    res = _vmapped_no_throw(**_batch(name, bad))
    np.testing.assert_array_equal(res.result == FitResults.successful, [True, False])
    np.testing.assert_array_equal(res.result == FitResults.invalid_input, [False, True])
    assert np.isnan(float(res.params["a"][1])) and np.isnan(float(res.stderr["b"][1]))
    # The good fit is untouched by its bad neighbour.
    ref = run()
    for k in ("a", "b"):
        np.testing.assert_allclose(res.params[k][0], ref.params[k], rtol=1e-9)
        np.testing.assert_allclose(res.stderr[k][0], ref.stderr[k], rtol=1e-6)


def test_good_values_pass_every_mode():
    ref = run()
    assert ref.converged
    np.testing.assert_allclose(float(ref.params["a"]), 2.0, atol=0.05)
    one = {k: jnp.asarray(v, float) for k, v in GOOD.items()}
    np.testing.assert_allclose(_jitted(**one).params["a"], ref.params["a"], rtol=1e-9)
    both = _vmapped(**_batch("y", Y))
    np.testing.assert_allclose(both.params["a"], [ref.params["a"]] * 2, rtol=1e-9)


# --------------------------------------------------------- structure and options: eager


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: run(max_steps=0), "`max_steps` must be a positive int; got 0"),
        (lambda: run(max_steps=-5), "`max_steps` must be a positive int"),
        (lambda: run(max_steps=2.5), "`max_steps` must be a positive int; got 2.5"),
        (lambda: run(max_steps=True), "`max_steps` must be a positive int"),
        (lambda: run(rtol=-1e-8), r"`rtol` must be finite and >= 0; got -1e-08"),
        (lambda: run(rtol=float("nan")), "`rtol` must be finite and >= 0"),
        (lambda: run(atol=float("inf")), "`atol` must be finite and >= 0"),
        (lambda: run(rtol=jnp.array([1e-8, 1e-6])), "`rtol` must be a real scalar"),
        (lambda: run(rtol="tight"), "`rtol` must be a real scalar"),
        (lambda: run(hessian="yes"), "`hessian` must be a bool"),
        (lambda: run(throw="no"), "`throw` must be a bool"),
        (lambda: run(optimizer="adam"), "`optimizer` must be an optax GradientTransformation"),
        (lambda: fit(3, {"a": 1.0}, X, Y), "`model` must be callable"),
        (lambda: fit(line, {"a": 1.0, "b": 0.0}, X[:0], Y[:0]), "0 data points cannot determine"),
        (lambda: fit(line, {"a": 1.0, "b": 0.0}, X, []), "`y` holds no data"),
        (lambda: Bounded(1.0, 1.0), "finite bounds with lower < upper"),
        (lambda: Bounded(jnp.nan, 1.0), "finite bounds with lower < upper"),
        (lambda: Bounded(0.0, jnp.inf), "finite bounds with lower < upper"),
        (lambda: Bounded(jnp.zeros(2), jnp.ones(3)), "do not broadcast together"),
        (
            lambda: fit(
                line,
                {"a": 1.0, "b": 0.0},
                X,
                Y,
                transforms={"a": Bounded(jnp.zeros(3), 5.0), "b": None},
            ),
            r"Bounded of \['a'\] maps a parameter of shape \(\) to shape \(3,\)",
        ),
        (
            lambda: fit(line, {"a": -1.0, "b": 0.0}, X, Y, transforms={"a": Positive(), "b": None}),
            r"Initial value of \['a'\]",
        ),
    ],
)
def test_bad_structure_or_option(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_traced_tolerance_is_checked_at_run_time():
    a_of = eqx.filter_jit(lambda r: run(rtol=r).params["a"])
    np.testing.assert_allclose(a_of(jnp.array(1e-10)), run().params["a"], rtol=1e-9)
    with pytest.raises(TRACED, match="`rtol` must be finite and >= 0"):
        jax.block_until_ready(a_of(jnp.array(-1.0)))


def test_valid_edge_options_are_accepted():
    # rtol = atol = 0 (converge to rounding), a NumPy int, a single step: all legal.
    res = run(rtol=0.0, atol=0, max_steps=np.int64(1), throw=False)
    assert res.result == FitResults.max_steps_reached and int(res.n_steps) == 1
    assert res.loss_history.shape == (2,) and np.isfinite(res.loss_history).all()
