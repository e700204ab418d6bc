"""Nuclear polarisation dynamics with feedback B_eff = B_ext - A⟨K_z⟩.

Reference: the closed form Eq. (23) (double dot) / Eq. (16) (single dot) with the feedback,
transcribed here, root-bracketed with SciPy's brentq and integrated with SciPy's solve_ivp.
"""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from jaxspin.danon11 import (
    DoubleDot,
    SingleDot,
    build_up,
    build_up_curve,
    fit_build_up,
    fixed_points,
    hysteresis,
)

from .test_double_dot import eq23


P = dict(detuning=5.0, tunnel=0.3, gamma=1.0, coupling=10.0, num_nuclei=10.0)
GAMMA_N = 2e-4


def F_ref(k, b_ext, gamma_n=GAMMA_N, **kw):
    p = {**P, **kw}
    an = p["coupling"] / p["num_nuclei"]
    b_eff = b_ext - p["coupling"] * k
    return eq23(p["detuning"], p["tunnel"], p["gamma"], an, b_eff, k) - gamma_n * k


def roots_ref(b_ext, **kw):
    ks = np.linspace(-0.5, 0.5, 20001)
    f = F_ref(ks, b_ext, **kw)
    idx = np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]
    return np.array([brentq(F_ref, ks[i], ks[i + 1], args=(b_ext,), xtol=1e-15) for i in idx])


def test_bistable_double_dot_fixed_points():
    dd = DoubleDot(**P, nuclear_relaxation=GAMMA_N)
    fp = fixed_points(dd, 10.0)
    ref = roots_ref(10.0)
    assert len(ref) == 3 and int(fp.count) == 3
    np.testing.assert_allclose(fp.k_z[:3], ref, atol=1e-11)
    assert list(np.asarray(fp.stable[:3])) == [True, False, True]
    h = 1e-7
    slope_ref = (F_ref(ref + h, 10.0) - F_ref(ref - h, 10.0)) / (2 * h)
    np.testing.assert_allclose(fp.slope[:3], slope_ref, rtol=1e-5)
    assert not np.any(np.asarray(fp.valid[3:]))
    # outside the bistable window: one stable point
    fp = fixed_points(dd, 6.0)
    assert int(fp.count) == 1 and bool(fp.stable[0])
    np.testing.assert_allclose(fp.k_z[0], roots_ref(6.0)[0], atol=1e-11)


def test_double_dot_without_relaxation_pumps_to_full_polarisation():
    """Eq. (23) ∝ (½ - ⟨K_z⟩) > 0: the only fixed point is ⟨K_z⟩ = K (on the boundary),
    stable, with slope -rate/(½ - k) there."""
    dd = DoubleDot(**P)
    fp = fixed_points(dd, 10.0)
    assert int(fp.count) == 1 and bool(fp.stable[0])
    np.testing.assert_allclose(fp.k_z[0], 0.5, atol=1e-15)
    an = P["coupling"] / P["num_nuclei"]
    slope = -eq23(5.0, 0.3, 1.0, an, 10.0 - 5.0, 0.0) / 0.5
    np.testing.assert_allclose(fp.slope[0], slope, rtol=1e-8)


def test_single_dot_fixed_point_closed_form():
    """Eq. (16): the numerator vanishes at ⟨K_z⟩* = (Γ_↓ - Γ_↑)/(2Γ) for every B_ext, with
    slope -A_n² Γ / (4 B_eff² + Γ²)."""
    gu, gd, A, N, b = 0.3, 1.1, 2.0, 5.0, 0.4
    fp = fixed_points(SingleDot(gu, gd, coupling=A, num_nuclei=N), b)
    G = gu + gd
    k_star = (gd - gu) / (2 * G)
    assert int(fp.count) == 1 and bool(fp.stable[0])
    np.testing.assert_allclose(fp.k_z[0], k_star, atol=1e-12)
    b_eff = b - A * k_star
    np.testing.assert_allclose(fp.slope[0], -((A / N) ** 2) * G / (4 * b_eff**2 + G**2), rtol=1e-8)


def test_hysteresis_matches_time_integration():
    """Sweeping B_ext up and down: the branches differ in the bistable window and agree
    outside; each step equals a long time integration (SciPy) of the closed form from the
    previous state."""
    dd = DoubleDot(**P, nuclear_relaxation=GAMMA_N)
    b = np.linspace(8.0, 11.0, 13)
    h = hysteresis(dd, b)

    def sweep_ref(path, k):
        out = []
        for bb in path:
            sol = solve_ivp(lambda t, y: F_ref(y, bb), (0, 2e6), [k], rtol=1e-11, atol=1e-14)
            k = sol.y[0, -1]
            out.append(k)
        return np.array(out)

    up = sweep_ref(b, 0.0)
    down = sweep_ref(b[::-1], up[-1])[::-1]
    np.testing.assert_allclose(h.up, up, atol=1e-8)
    np.testing.assert_allclose(h.down, down, atol=1e-8)
    gap = np.abs(np.asarray(h.up - h.down))
    assert gap.max() > 0.2  # a real hysteresis loop
    assert gap[0] < 1e-12 and gap[-1] < 1e-12


def test_build_up_matches_scipy():
    dd = DoubleDot(**P, nuclear_relaxation=GAMMA_N)
    ts = jnp.linspace(0.0, 4000.0, 21)
    traj = build_up(dd, 8.0, ts, 0.0, rtol=1e-10, atol=1e-13)
    assert bool(traj.result == diffrax.RESULTS.successful)
    ref = solve_ivp(
        lambda t, y: F_ref(y, 8.0),
        (0, 4000.0),
        [0.0],
        t_eval=np.asarray(ts),
        rtol=1e-12,
        atol=1e-14,
    )
    np.testing.assert_allclose(traj.ys, ref.y[0], atol=1e-8)


@pytest.mark.slow
def test_build_up_gradients_match_finite_differences():
    """d⟨K_z⟩(t)/d(A, Γ) through the ODE solver and the implicit electron solves (what the
    fit differentiates)."""
    ts = jnp.linspace(0.0, 4000.0, 21)

    def final(x):
        A, g = x
        m = DoubleDot(5.0, 0.3, g, coupling=A, num_nuclei=10.0, nuclear_relaxation=GAMMA_N)
        return build_up_curve(m, ts, 8.0)[-1]

    x = jnp.array([10.0, 1.0])
    grad = jax.jit(jax.grad(final))(x)
    f = jax.jit(final)
    eps = 1e-5
    fd = jnp.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in jnp.eye(2)])
    np.testing.assert_allclose(grad, fd, rtol=1e-5)


@pytest.mark.slow
def test_fit_recovers_coupling_and_rate_with_error_bars():
    """A and Γ from a noisy synthetic build-up: within 3 standard errors of the truth, and
    the error bars match the scatter of fits to independent noise realisations."""
    truth = DoubleDot(**P, nuclear_relaxation=GAMMA_N)
    ts = jnp.linspace(0.0, 4000.0, 60)
    clean = build_up_curve(truth, ts, 8.0)
    guess = DoubleDot(5.0, 0.3, 1.4, coupling=7.0, num_nuclei=10.0, nuclear_relaxation=GAMMA_N)
    sigma = 0.005
    fits = []
    for seed in range(6):
        noise = sigma * jax.random.normal(jax.random.PRNGKey(seed), clean.shape)
        res = fit_build_up(guess, ts, clean + noise, b_ext=8.0, sigma=sigma)
        assert res.converged
        for name, true in (("coupling", 10.0), ("gamma", 1.0)):
            value, err = getattr(res.params, name), getattr(res.stderr, name)
            assert abs(value - true) < 3.5 * err
        fits.append([res.params.coupling, res.params.gamma, res.stderr.coupling, res.stderr.gamma])
    fits = np.array(fits)
    scatter = fits[:, :2].std(axis=0, ddof=1)
    mean_err = fits[:, 2:].mean(axis=0)
    assert np.all(scatter < 2.5 * mean_err) and np.all(scatter > 0.3 * mean_err)


def test_fit_arguments_are_checked():
    dd = DoubleDot(**P)
    with pytest.raises(ValueError, match="fields"):
        fit_build_up(dd, jnp.linspace(0, 1, 5), jnp.zeros(5), b_ext=1.0, fields=("tunel",))
    with pytest.raises(ValueError, match="fields"):
        fit_build_up(dd, jnp.linspace(0, 1, 5), jnp.zeros(5), b_ext=1.0, fields=("nuclear_spin",))
