"""Φ of Eqs. (9), (S37)/(S38) and the exact uniform rotation (S34)+(S39) [Smirnov24].

The exact rotation is checked three ways: (i) its kinematics (the composite rotation
angle) against a direct numerical integration of the box-model precession equations,
(ii) its limits (S37) at B = 0 and 1/2 at aτc/ħ → 0 (any field), (iii) its Overhauser
average against Monte Carlo over samples whose time average is done numerically
(Gauss-Laguerre) on the closed-form angle, not on the Lorentzian pair sums of the code.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from jaxspin import smirnov24 as s24


def test_phi_limits():
    p = s24.Parameters(jnp.array([1e-4, 1e4]), delta_b=1.0)
    phi = s24.phi(p, 0.0)
    assert float(phi[0]) == pytest.approx(1.5, rel=1e-8)  # short τc: 3/2
    assert float(phi[1]) == pytest.approx(0.5, rel=1e-7)  # long τc: 1/2 (decreased 3x)
    # Eq. (9) is Λ + 1/2 for n_i = inf; (S38) tends to it for N_I → ∞
    _, lam = s24.averages(s24.Parameters(3.0, delta_b=1.0), 0.7)
    assert float(s24.phi(s24.Parameters(3.0, delta_b=1.0), 0.7)) == pytest.approx(
        float(lam) + 0.5, rel=1e-15
    )
    big = s24.phi(s24.Parameters(3.0, delta_b=1.0, n_i=1e12), 0.7)
    assert float(big) == pytest.approx(float(lam) + 0.5, rel=1e-10)


def test_s38_forms_and_s35_limit():
    x = np.array([0.05, 0.3, 1.0, 3.0, 30.0])
    printed = 0.4 / x**2 * (2 - 1 / (1 + x**2) - 4 / (4 + x**2))  # (S37) as printed
    np.testing.assert_allclose(s24.rotation_interpolated(x, 1.0), printed, rtol=1e-12)
    assert float(s24.rotation_interpolated(0.0, 1.0)) == 0.5
    assert float(s24.rotation_interpolated(1e4, 1.0)) == pytest.approx(0.8 / 1e8, rel=1e-7)


def rotation_angle_formula(omega_b, omega_n_vec, t, w_e=1.0):
    """cos φ(t) of the net rotation: cos(φ/2) = P cos(ut) + Q cos(vt)."""
    oe_vec = omega_n_vec + np.array([0, 0, omega_b])
    oe, on = np.linalg.norm(oe_vec), np.linalg.norm(omega_n_vec)
    w_n, w_p = w_e * omega_b / oe, w_e * on / oe
    zeta = omega_n_vec[2] / on
    p, q = (1 - zeta) / 2, (1 + zeta) / 2
    u, v = (w_n - w_p) / 2, (w_n + w_p) / 2
    half = p * np.cos(u * t) + q * np.cos(v * t)
    return 2 * half**2 - 1


def test_composite_rotation_matches_precession_equations():
    """Box model with the electron spin following n = Ω_e/Ω_e: every nuclear spin, and J,
    precess about n at ω_e, dX/dt = ω_e n × X. The net rotation angle of the nuclear spins
    must be the code's composite R_z(ω_n t) R_m(Ω' t)."""
    rng = np.random.default_rng(4)
    for omega_b in (0.0, 0.8, 3.0):
        omega_n0 = rng.normal(scale=0.5, size=3)

        def rhs(t, y):
            on = y[:3]
            oe = on + np.array([0, 0, omega_b])
            n = oe / np.linalg.norm(oe)
            out = [np.cross(n, y[3 * i : 3 * i + 3]) for i in range(4)]
            return np.concatenate(out)

        y0 = np.concatenate([omega_n0, np.eye(3).reshape(-1)])
        ts = np.linspace(0, 12, 25)
        sol = integrate.solve_ivp(rhs, (0, 12), y0, t_eval=ts, rtol=1e-11, atol=1e-12)
        frames = sol.y[3:].T.reshape(-1, 3, 3)  # rows: images of e_x, e_y, e_z
        cos_phi = (np.trace(frames, axis1=1, axis2=2) - 1) / 2
        expect = rotation_angle_formula(omega_b, omega_n0, ts)
        np.testing.assert_allclose(cos_phi, expect, atol=1e-8)


def test_exact_phi_limits():
    # B = 0: φ = at/(2ħ), so the exact rotation is (S37) (both N_I)
    taus = jnp.array([0.1, 3.0, 300.0])
    zero = jnp.zeros(3)  # same shapes as below: one compilation
    for n_i in (1e4, 1e6):
        p = s24.Parameters(taus, delta_b=1.0, n_i=n_i)
        exact = s24.phi(p, zero, method=s24.PhiExact())
        np.testing.assert_allclose(exact, s24.phi(p, zero), rtol=1e-10)
    # small rotation angles (N_I = inf): the rotation part is 1/2 at any field
    p = s24.Parameters(jnp.array([0.3, 3.0, 30.0]), delta_b=1.0)
    fields = jnp.array([0.2, 1.0, 5.0])
    exact = s24.phi(p, fields, method=s24.PhiExact())
    np.testing.assert_allclose(exact, s24.phi(p, fields), rtol=1e-8)


def test_exact_phi_against_monte_carlo_time_average():
    """Finite N_I, B ≠ 0 (where (S38) is only an interpolation)."""
    tau, n_i, omega_b = 20.0, 100.0, 1.2  # ω_e τc = τ/(2√N_I) = 1
    p = s24.Parameters(tau, delta_b=1.0, n_i=n_i)
    _, lam = s24.averages(p, omega_b)
    rot_quad = float(s24.phi(p, omega_b, method=s24.PhiExact()) - lam)
    w_e = 1 / (2 * math.sqrt(n_i))
    x, w = np.polynomial.laguerre.laggauss(160)  # ∫_0^∞ e^{-x} g(x) dx, t = τc x
    rng = np.random.default_rng(7)
    n = 4000
    vals = np.empty(n)
    for i in range(n):
        on = rng.normal(scale=0.5, size=3)
        cphi = rotation_angle_formula(omega_b, on, tau * x, w_e)
        chi_def = 4 - 2 * cphi - 2 * (2 * cphi**2 - 1)  # 5 - χ₂(φ)
        vals[i] = n_i / (5 * tau**2) * np.sum(w * chi_def)
    mean, err = vals.mean(), vals.std(ddof=1) / math.sqrt(n)
    assert err < 0.01 * mean  # a discriminating comparison
    assert abs(mean - rot_quad) < 4.5 * err
    # the interpolation (S38) is close here, as Fig. S1 claims ("almost perfect agreement")
    interp = float(s24.rotation_interpolated(tau, n_i))
    assert abs(rot_quad - interp) < 0.02 * interp


def test_phi_gradient():
    f = lambda tau: s24.phi(s24.Parameters(tau, delta_b=1.0, n_i=1e4), 0.4)
    h = 1e-5
    fd = (f(3.0 + h) - f(3.0 - h)) / (2 * h)
    assert float(jax.grad(f)(3.0)) == pytest.approx(float(fd), rel=1e-7)
