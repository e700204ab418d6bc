"""The fitting layer: weighted least squares on optax, transforms, Hessian error bars.

Code: jaxspin/_fit.py (driver, optimiser loop, covariance) and jaxspin/_transform.py.

Oracles: the normal equations of weighted linear least squares (closed form, NumPy),
``scipy.optimize.least_squares`` (an independent nonlinear fitter), the statistics of
repeated fits of synthetic noisy data (coverage and scatter), finite differences, and a
closed-form solution of the ODE that the solver-based model integrates.
"""

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optax
import pytest
import scipy.optimize

from jaxspin._fit import FitResults, _setup, fit
from jaxspin._transform import Bounded, Identity, Positive


class Decay(eqx.Module):
    amplitude: jax.Array
    tau: jax.Array
    offset: jax.Array


def decay(p, t):
    return p.amplitude * jnp.exp(-t / p.tau) + p.offset


TRUE = Decay(jnp.array(2.0), jnp.array(1.3), jnp.array(0.5))
T = jnp.linspace(0.0, 5.0, 100)
NOISE = 0.05


def noisy(key, model, params, x, noise):
    clean = model(params, x)
    return clean + noise * jax.random.normal(key, jnp.shape(clean))


# ------------------------------------------------------------------------------------------
# 1. Linear model: the exact weighted least-squares solution pins the conventions.


def test_linear_model_equals_normal_equations(key):
    x = np.linspace(-1.0, 2.0, 30)
    sigma = 0.1 + 0.2 * np.abs(np.sin(3 * x))  # heteroscedastic
    y = 0.7 - 1.9 * x + sigma * np.asarray(jax.random.normal(key, x.shape))

    model = eqx.filter_jit(lambda p, x: p["a"] + p["b"] * x)  # a jitted model is fine
    res = fit(model, {"a": 0.0, "b": 0.0}, jnp.asarray(x), jnp.asarray(y), sigma=sigma)

    design = np.stack([np.ones_like(x), x], axis=1)
    weights = 1 / sigma**2
    normal = design.T @ (weights[:, None] * design)
    beta = np.linalg.solve(normal, design.T @ (weights * y))
    cov = np.linalg.inv(normal)
    chi2 = np.sum(((design @ beta - y) / sigma) ** 2)

    assert res.converged
    assert res.names == ("['a']", "['b']")
    np.testing.assert_allclose([res.params["a"], res.params["b"]], beta, rtol=1e-8)
    np.testing.assert_allclose(res.covariance, cov, rtol=1e-8)
    np.testing.assert_allclose(res.gauss_newton_covariance, cov, rtol=1e-8)
    np.testing.assert_allclose(res.hessian, normal, rtol=1e-10)
    np.testing.assert_allclose([res.stderr["a"], res.stderr["b"]], np.sqrt(np.diag(cov)))
    np.testing.assert_allclose(res.chi2, chi2, rtol=1e-10)
    assert res.dof == 28
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    np.testing.assert_allclose(res.correlation, [[1, corr], [corr, 1]], rtol=1e-8)
    history = np.asarray(res.loss_history)
    assert history[0] == pytest.approx(0.5 * np.sum((y / sigma) ** 2))
    assert history[int(res.n_steps)] == pytest.approx(chi2 / 2, rel=1e-12)
    assert np.all(np.isnan(history[int(res.n_steps) + 1 :]))
    assert "['a'] = " in res.summary() and "±" in res.summary()


# ------------------------------------------------------------------------------------------
# 2. Nonlinear model with noise: coverage and Hessian errors vs empirical scatter.


def test_nonlinear_fits_cover_truth_and_stderr_matches_scatter():
    n_seeds = 40
    keys = jax.random.split(jax.random.PRNGKey(7), n_seeds)
    ys = jax.vmap(lambda k: noisy(k, decay, TRUE, T, NOISE))(keys)
    start = Decay(jnp.array(1.0), jnp.array(1.0), jnp.array(0.0))
    tx = Decay(Identity(), Positive(), Identity())

    # fit is vmappable: 40 independent fits in one compiled loop.
    res = jax.vmap(lambda y: fit(decay, start, T, y, sigma=NOISE, transforms=tx))(ys)
    assert bool(jnp.all(res.converged))

    values = np.stack([np.asarray(getattr(res.params, f)) for f in ("amplitude", "tau", "offset")])
    errs = np.stack([np.asarray(getattr(res.stderr, f)) for f in ("amplitude", "tau", "offset")])
    truth = np.array([2.0, 1.3, 0.5])[:, None]
    pulls = (values - truth) / errs  # (3, n_seeds)

    # Gaussian pulls: P(|pull| > 3) = 0.27 %, so of 120 at most 2 (P(>= 3) ~ 0.4 %).
    assert np.sum(np.abs(pulls) > 3) <= 2
    assert np.all(np.abs(pulls) < 5)
    # 68 % within 1 sigma; binomial spread of 120 draws ~ 4 %, correlated within a seed.
    inside = np.mean(np.abs(pulls) < 1)
    assert 0.5 < inside < 0.85, inside
    # Hessian stderr vs the empirical scatter; 40 seeds give the sample std to ~11 %.
    scatter = np.std(values, axis=1, ddof=1)
    np.testing.assert_allclose(np.mean(errs, axis=1), scatter, rtol=0.3)
    # The Gauss-Newton covariance agrees with the Hessian one to O(residual/N).
    np.testing.assert_allclose(
        np.sqrt(np.diagonal(np.asarray(res.gauss_newton_covariance), axis1=1, axis2=2)),
        errs.T,
        rtol=0.05,
    )


# ------------------------------------------------------------------------------------------
# 3. Unknown noise: estimated from the residuals.


def test_sigma_none_estimates_noise_and_scales_covariance(key):
    t = jnp.linspace(0.0, 5.0, 200)
    y = noisy(key, decay, TRUE, t, 0.03)
    start = Decay(jnp.array(1.5), jnp.array(2.0), jnp.array(0.0))
    est = fit(decay, start, t, y)
    unit = fit(decay, start, t, y, sigma=1.0)
    known = fit(decay, start, t, y, sigma=0.03)

    assert est.sigma_estimated and not known.sigma_estimated
    assert float(est.residual_scale) == pytest.approx(0.03, rel=0.2)
    np.testing.assert_allclose(est.residual_scale, jnp.sqrt(unit.chi2 / 197), rtol=1e-12)
    # covariance = s^2 H^{-1} with H the Hessian of the unit-weight chi2/2.
    np.testing.assert_allclose(est.covariance, est.residual_scale**2 * unit.covariance, rtol=1e-6)
    np.testing.assert_allclose(est.covariance, known.covariance, rtol=0.4)  # (s/0.03)^2
    for f in ("amplitude", "tau", "offset"):
        assert float(getattr(est.params, f)) == pytest.approx(
            float(getattr(known.params, f)), rel=1e-7
        )
    assert "sigma estimated" in est.summary()


# ------------------------------------------------------------------------------------------
# 4. Transforms, fixed leaves, several data sets with shared parameters.


def test_bounded_parameter_near_bound_is_recovered_inside(key):
    truth = Decay(jnp.array(2.0), jnp.array(1.3), jnp.array(0.097))
    y = noisy(key, decay, truth, T, 0.002)
    tx = Decay(Positive(), Positive(), Bounded(0.0, 0.1))
    res = fit(decay, Decay(1.0, 1.0, 0.05), T, y, sigma=0.002, transforms=tx)
    assert res.converged
    assert 0.0 < float(res.params.offset) < 0.1
    assert abs(float(res.params.offset) - 0.097) < 4 * float(res.stderr.offset)
    assert float(res.stderr.offset) < 0.003 / 2  # the bound did not need to act


def test_best_fit_outside_bounds_is_flagged(key):
    truth = Decay(jnp.array(2.0), jnp.array(1.3), jnp.array(0.12))
    y = noisy(key, decay, truth, T, 0.002)
    tx = Decay(Identity(), Positive(), Bounded(0.0, 0.1))
    res = fit(decay, Decay(1.0, 1.0, 0.05), T, y, sigma=0.002, transforms=tx, throw=False)
    assert res.result == FitResults.at_bound
    assert 0.099 < float(res.params.offset) <= 0.1
    assert np.all(np.isnan(np.asarray(res.covariance)))
    assert np.isnan(float(res.stderr.tau))
    with pytest.raises(RuntimeError, match="bound"):
        fit(decay, Decay(1.0, 1.0, 0.05), T, y, sigma=0.002, transforms=tx)


class Mixed(eqx.Module):
    rates: jax.Array  # free, a vector
    shift: np.ndarray  # fixed by `free`
    scale: float  # fixed by `free`
    n_terms: int  # not a float: never free
    label: str = eqx.field(static=True)


def test_fixed_leaves_unchanged_and_vector_parameters(key):
    def model(p, t):
        terms = jnp.exp(-p.rates[:, None] * t[None, :])
        return p.scale * jnp.sum(terms[: p.n_terms], axis=0) + jnp.asarray(p.shift)

    truth = Mixed(jnp.array([0.5, 3.0]), np.array(0.25), 2.0, 2, "x")
    y = noisy(key, model, truth, T, 0.01)
    start = Mixed(jnp.array([0.3, 2.0]), np.array(0.25), 2.0, 2, "x")
    free = Mixed(True, False, False, False, "x")
    res = fit(
        model, start, T, y, sigma=0.01, free=free, transforms=Mixed(Positive(), *[None] * 3, "x")
    )
    assert res.converged
    assert res.params.shift is start.shift and res.params.scale is start.scale
    assert res.params.n_terms == 2 and res.params.label == "x"
    assert res.names == (".rates[0]", ".rates[1]")
    assert res.stderr.shift == 0 and res.stderr.scale == 0 and res.stderr.n_terms is None
    assert np.all(
        np.abs(np.asarray(res.params.rates) - [0.5, 3.0]) < 4 * np.asarray(res.stderr.rates)
    )
    assert ".shift" in res.summary() and "(fixed)" in res.summary()


def test_two_data_sets_with_a_shared_time_constant(key):
    """Latta09-style: one saturation time for several curves; checked against scipy."""
    t1 = jnp.linspace(0.0, 4.0, 60)
    t2 = jnp.linspace(0.0, 8.0, 40)

    def model(p, ts):
        return (
            p["a1"] * (1 - jnp.exp(-ts[0] / p["tau"])),
            p["a2"] * (1 - jnp.exp(-ts[1] / p["tau"])) + p["c2"],
        )

    truth = {"a1": 1.0, "a2": -0.6, "c2": 0.1, "tau": 1.7}
    k1, k2 = jax.random.split(key)
    clean = model(truth, (t1, t2))
    sig = (0.02, 0.05)  # one sigma per data set: a prefix of y
    y = (
        clean[0] + sig[0] * jax.random.normal(k1, t1.shape),
        clean[1] + sig[1] * jax.random.normal(k2, t2.shape),
    )
    start = {"a1": 0.5, "a2": -0.3, "c2": 0.0, "tau": 1.0}
    res = fit(
        model,
        start,
        (t1, t2),
        y,
        sigma=sig,
        transforms={"tau": Positive(), "a1": None, "a2": None, "c2": None},
    )
    assert res.converged and res.dof == 100 - 4

    # Independent: scipy's trust-region least squares on the stacked residuals.
    order = ["a1", "a2", "c2", "tau"]  # sorted dict keys = our row order
    assert res.names == tuple(f"['{k}']" for k in order)

    def resid(v):
        pred = model(dict(zip(order, v, strict=True)), (t1, t2))
        return np.concatenate([(np.asarray(pred[i]) - np.asarray(y[i])) / sig[i] for i in (0, 1)])

    ref = scipy.optimize.least_squares(
        resid, [start[k] for k in order], method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15
    )
    fitted = [float(res.params[k]) for k in order]
    np.testing.assert_allclose(fitted, ref.x, rtol=1e-6)
    np.testing.assert_allclose(
        res.gauss_newton_covariance, np.linalg.inv(ref.jac.T @ ref.jac), rtol=1e-5
    )
    for k in order:
        assert abs(float(res.params[k]) - truth[k]) < 4 * float(res.stderr[k])


# ------------------------------------------------------------------------------------------
# 5. Derivatives of the loss the fitter uses.


def test_loss_gradient_and_hessian_match_finite_differences(key):
    y = noisy(key, decay, TRUE, T, NOISE)
    tx = Decay(Identity(), Positive(), Bounded(-1.0, 2.0))
    obj, free0, names, _ = _setup(decay, Decay(1.8, 1.1, 0.4), T, y, 0.05, None, tx)
    assert names == (".amplitude", ".tau", ".offset")

    def loss_p(v):  # chi2/2 in physical coordinates
        return 0.5 * jnp.sum(obj.residuals(list(v)) ** 2)

    def loss_u(u):  # chi2/2 in the unconstrained coordinates the optimiser moves
        return loss_p(jnp.stack(obj.physical(list(u))))

    p0 = jnp.stack(free0)
    u0 = jnp.stack(obj.unconstrained(free0))
    for loss, v in ((loss_p, p0), (loss_u, u0)):
        grad = jax.grad(loss)(v)
        h = 1e-6
        fd = np.array([(loss(v.at[i].add(h)) - loss(v.at[i].add(-h))) / (2 * h) for i in range(3)])
        np.testing.assert_allclose(grad, fd, rtol=1e-6)

    res = fit(decay, Decay(1.8, 1.1, 0.4), T, y, sigma=0.05, transforms=tx)
    p = jnp.stack([res.params.amplitude, res.params.tau, res.params.offset])
    h = 1e-5
    grad = jax.grad(loss_p)
    fd = np.stack([(grad(p.at[i].add(h)) - grad(p.at[i].add(-h))) / (2 * h) for i in range(3)])
    np.testing.assert_allclose(res.hessian, fd, rtol=1e-6)
    assert np.max(np.abs(grad(p) * np.sqrt(np.diag(res.covariance)))) < 1e-5  # at a minimum


# ------------------------------------------------------------------------------------------
# 6. Through an ODE solver.


def _relax(p, t, adjoint=None):
    """dy/dt = -k y + s, y(0) = 0, integrated by diffrax."""
    sol = dfx.diffeqsolve(
        dfx.ODETerm(lambda _, y, p: -p["k"] * y + p["s"]),
        dfx.Tsit5(),
        0.0,
        t[-1],
        0.05,
        jnp.zeros_like(t[0]),
        args=p,
        saveat=dfx.SaveAt(ts=t),
        stepsize_controller=dfx.PIDController(rtol=1e-10, atol=1e-12),
        **({} if adjoint is None else {"adjoint": adjoint}),
    )
    return sol.ys


def _relax_exact(p, t):
    return p["s"] / p["k"] * (1 - jnp.exp(-p["k"] * t))


def test_fit_through_an_ode_solve(key):
    t = jnp.linspace(0.1, 5.0, 40)
    truth = {"k": 0.8, "s": 1.2}
    y = noisy(key, _relax_exact, truth, t, 0.01)
    start = {"k": 2.0, "s": 0.5}
    tx = {"k": Positive(), "s": Positive()}
    # diffrax's default adjoint is reverse-mode only: Gauss-Newton covariance.
    res = fit(_relax, start, t, y, sigma=0.01, transforms=tx, hessian=False, rtol=1e-10)
    ref = fit(_relax_exact, start, t, y, sigma=0.01, transforms=tx, hessian=False)
    assert res.converged
    for k in ("k", "s"):
        assert float(res.params[k]) == pytest.approx(float(ref.params[k]), rel=1e-7)
        assert abs(float(res.params[k]) - truth[k]) < 4 * float(res.stderr[k])
    np.testing.assert_allclose(res.covariance, ref.covariance, rtol=1e-5)

    with pytest.raises(ValueError, match="hessian=False"):
        fit(_relax, start, t, y, sigma=0.01, transforms=tx, hessian=True)


@pytest.mark.slow
def test_exact_hessian_through_ode_with_direct_adjoint(key):
    t = jnp.linspace(0.1, 5.0, 40)
    y = noisy(key, _relax_exact, {"k": 0.8, "s": 1.2}, t, 0.01)
    model = lambda p, t: _relax(p, t, adjoint=dfx.DirectAdjoint())
    res = fit(model, {"k": 2.0, "s": 0.5}, t, y, sigma=0.01, rtol=1e-10)
    ref = fit(_relax_exact, {"k": 2.0, "s": 0.5}, t, y, sigma=0.01)
    np.testing.assert_allclose(res.hessian, ref.hessian, rtol=1e-6)


@pytest.mark.slow
def test_fit_through_the_engine_odesolve(key):
    """jaxspin.odesolve (Kvaerno5, rtol 1e-8, reverse-mode adjoint) inside the model."""
    import jaxspin

    t = jnp.linspace(0.1, 5.0, 40)
    y = noisy(key, _relax_exact, {"k": 0.8, "s": 1.2}, t, 0.01)

    def model(p, t):
        ts = jnp.concatenate([jnp.zeros(1), t])
        rhs = lambda _, y, p: -p["k"] * y + p["s"]
        return jaxspin.odesolve(rhs, jnp.zeros(()), ts, p).ys[1:]

    tx = {"k": Positive(), "s": Positive()}
    res = fit(model, {"k": 2.0, "s": 0.5}, t, y, sigma=0.01, transforms=tx, hessian=False)
    ref = fit(_relax_exact, {"k": 2.0, "s": 0.5}, t, y, sigma=0.01, transforms=tx, hessian=False)
    for k in ("k", "s"):  # to the ODE tolerance, far inside the error bars
        assert float(res.params[k]) == pytest.approx(float(ref.params[k]), rel=1e-5)
    np.testing.assert_allclose(res.covariance, ref.covariance, rtol=1e-4)


def _steady_polarization(p, field):
    """Two-level rate equations solved for the steady state with lineax.

    Pumping ``w_up = g`` and field-dependent relaxation ``w_down = r / (1 + (B/b)^2)``;
    the populations solve ``[[w_down, -w_up], [1, 1]] n = [0, 1]`` (detailed balance
    ``w_down n_up = w_up n_down`` and normalisation), polarization
    ``n_up - n_down``.
    """

    def one(b_field):
        w_up = p["g"]
        w_down = p["r"] / (1 + (b_field / p["b"]) ** 2)
        m = jnp.stack([jnp.stack([w_down, -w_up]), jnp.ones(2)])
        rhs = jnp.array([0.0, 1.0])
        n = lx.linear_solve(lx.MatrixLinearOperator(m), rhs, lx.LU()).value
        return n[0] - n[1]

    return jax.vmap(one)(field)


def _steady_polarization_exact(p, field):
    w_down = p["r"] / (1 + (field / p["b"]) ** 2)
    return (p["g"] - w_down) / (p["g"] + w_down)


def test_fit_through_a_lineax_steady_state_with_exact_hessian(key):
    field = jnp.linspace(-3.0, 3.0, 50)
    truth = {"b": 0.7, "g": 1.0, "r": 2.5}
    y = noisy(key, _steady_polarization_exact, truth, field, 0.02)
    start = {"b": 1.0, "g": 1.0, "r": 1.0}
    free = {"b": True, "g": False, "r": True}  # only the ratio r/g is determined
    tx = {"b": Positive(), "g": None, "r": Positive()}
    res = fit(_steady_polarization, start, field, y, sigma=0.02, free=free, transforms=tx)
    ref = fit(_steady_polarization_exact, start, field, y, sigma=0.02, free=free, transforms=tx)
    assert res.converged and res.params["g"] is start["g"]
    for k in ("b", "r"):
        assert float(res.params[k]) == pytest.approx(float(ref.params[k]), rel=1e-7)
        assert abs(float(res.params[k]) - truth[k]) < 4 * float(res.stderr[k])
    np.testing.assert_allclose(res.hessian, ref.hessian, rtol=1e-7)  # second derivatives
    assert not np.allclose(res.covariance, res.gauss_newton_covariance, rtol=1e-4)


# ------------------------------------------------------------------------------------------
# Other optimisers, degenerate problems, bad input.


def test_vmapped_fits_report_failures_per_data_set(key):
    tx = Decay(Identity(), Positive(), Bounded(0.0, 0.1))
    ys = jnp.stack(
        [
            noisy(key, decay, Decay(2.0, 1.3, 0.05), T, 0.002),
            noisy(key, decay, Decay(2.0, 1.3, 0.15), T, 0.002),  # offset above the bound
        ]
    )
    start = Decay(1.0, 1.0, 0.02)
    run = lambda y, throw: fit(decay, start, T, y, sigma=0.002, transforms=tx, throw=throw)
    res = jax.vmap(lambda y: run(y, False))(ys)
    np.testing.assert_array_equal(res.result == FitResults.successful, [True, False])
    np.testing.assert_array_equal(res.result == FitResults.at_bound, [False, True])
    assert np.isfinite(float(res.stderr.tau[0])) and np.isnan(float(res.stderr.tau[1]))
    with pytest.raises(RuntimeError, match="bound"):
        jax.vmap(lambda y: run(y, True))(ys)


def test_adam_reaches_the_same_minimum(key):
    y = noisy(key, decay, TRUE, T, NOISE)
    start = Decay(jnp.array(1.5), jnp.array(1.0), jnp.array(0.3))
    ref = fit(decay, start, T, y, sigma=NOISE)
    res = fit(
        decay, start, T, y, sigma=NOISE, optimizer=optax.adam(0.02), max_steps=5000, rtol=1e-9
    )
    assert res.converged and int(res.n_steps) > int(ref.n_steps)
    for f in ("amplitude", "tau", "offset"):
        diff = float(getattr(res.params, f)) - float(getattr(ref.params, f))
        assert abs(diff) < 1e-3 * float(getattr(ref.stderr, f))


def test_undetermined_parameters_give_flagged_nan_errors():
    x = jnp.linspace(0.0, 1.0, 20)
    y = 1.5 * x + 0.01 * jnp.sin(17 * x)
    model = lambda p, x: (p["a"] + p["b"]) * x  # only a + b is determined
    res = fit(model, {"a": 1.0, "b": 0.0}, x, y, sigma=0.01, throw=False)
    assert res.result == FitResults.hessian_not_positive_definite
    assert np.isnan(float(res.stderr["a"]))
    assert float(res.params["a"] + res.params["b"]) == pytest.approx(1.5, abs=1e-3)
    with pytest.raises(RuntimeError, match="positive definite"):
        fit(model, {"a": 1.0, "b": 0.0}, x, y, sigma=0.01)


def test_nonfinite_loss_and_max_steps_are_result_codes():
    x = jnp.linspace(0.0, 1.0, 20)
    y = jnp.sqrt(x + 1)
    model = lambda p, x: jnp.sqrt(x + p)  # NaN for p < -x
    res = fit(model, jnp.array(-0.5), x, y, throw=False)
    assert res.result == FitResults.nonfinite_loss and int(res.n_steps) == 0
    with pytest.raises(RuntimeError, match="NaN or inf"):
        fit(model, jnp.array(-0.5), x, y)
    res = fit(decay, Decay(1.0, 1.0, 0.0), T, decay(TRUE, T), max_steps=2, throw=False)
    assert res.result == FitResults.max_steps_reached and int(res.n_steps) == 2


def test_noise_free_data_converge():
    res = fit(
        decay, Decay(1.0, 1.0, 0.0), T, decay(TRUE, T), transforms=Decay(None, Positive(), None)
    )
    for f in ("amplitude", "tau", "offset"):
        assert float(getattr(res.params, f)) == pytest.approx(float(getattr(TRUE, f)), rel=1e-8)


def test_bad_input_is_refused():
    y = decay(TRUE, T)
    start = Decay(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"shape \(100,\) where `y` has shape \(99,\)"):
        fit(decay, start, T, y[:99])
    with pytest.raises(ValueError, match="PyTree"):
        fit(decay, start, T, (y, y))
    with pytest.raises(ValueError, match="NaN or inf"):
        fit(decay, start, T, y.at[3].set(jnp.nan))
    with pytest.raises(ValueError, match="sigma"):
        fit(decay, start, T, y, sigma=-0.1)
    with pytest.raises(ValueError, match="sigma"):
        fit(decay, start, T, y, sigma=jnp.zeros(100).at[0].set(jnp.nan))
    with pytest.raises(ValueError, match="does not broadcast"):
        fit(decay, start, T, y, sigma=jnp.ones(7))
    with pytest.raises(ValueError, match="outside the domain"):
        fit(decay, start, T, y, transforms=Decay(None, Bounded(2.0, 3.0), None))
    with pytest.raises(ValueError, match="outside the domain"):
        fit(decay, Decay(1.0, -1.0, 0.0), T, y, transforms=Decay(None, Positive(), None))
    with pytest.raises(ValueError, match="lower < upper"):
        Bounded(1.0, 1.0)
    with pytest.raises(ValueError, match="complex"):
        fit(decay, start, T, y.astype(complex))
    with pytest.raises(ValueError, match="No free parameters"):
        fit(decay, start, T, y, free=False)
    with pytest.raises(ValueError, match="more data points"):
        fit(decay, start, T[:3], y[:3])
    with pytest.raises(ValueError, match="dtype int"):
        fit(lambda p, t: p * t, jnp.array(1), T, y, free=True)
    with pytest.raises(ValueError, match="transforms"):
        fit(decay, start, T, y, transforms=(Positive(), Positive()))
