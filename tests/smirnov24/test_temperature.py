"""β of Eq. (6), its limits (Dyakonov-Perel, Eq. (7)), the polarization of Fig. 2(a) and
the heating rate of Eq. (13) [Smirnov24]; the reading of B_L vs B̃_L = √3 B_L.

Reading (decided here and in test_optimum.py): Eq. (6) holds with the B_L of (S33) —
then short τc gives Dyakonov-Perel's β = 4<S_z>B/(ħγ_N(B² + 3B_L²)), maximal at
B0 = √3 B_L = B̃_L with β0 = 2<S_z>/(ħγ_N√3 B_L), as the text and Fig. 2 state — while the
printed Eq. (7) must be read with B̃_L: the long-τc limit of Eq. (6) is
B² + (τc/T2e*)² B̃_L²/4 = B² + (3/4)(τc/T2e*)² B_L², three times the literal B_L² term.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin import smirnov24 as s24


FIELDS = jnp.array([0.01, 0.3, 1.0, 3.0, 30.0, 300.0])  # units of B̃_L


def test_short_tau_is_dyakonov_perel():
    for tau in (0.0, 1e-4):
        p = s24.Parameters.paper(tau)
        beta = s24.inverse_spin_temperature(p, FIELDS)
        dp = s24.inverse_spin_temperature_short(p, FIELDS)
        np.testing.assert_allclose(beta, dp, rtol=1e-6 if tau else 1e-13)
    # DP's β peaks at B̃_L with the value β0 (Fig. 2(b) normalisation)
    p = s24.Parameters.paper(0.0)
    b = jnp.linspace(0.9, 1.1, 2001)
    beta = s24.inverse_spin_temperature_short(p, b)
    assert float(b[jnp.argmax(beta)]) == pytest.approx(1.0, abs=1e-4)
    assert float(jnp.max(beta) / s24.beta0(p)) == pytest.approx(1.0, rel=1e-8)


def test_reading_of_b_local_long_tau_eq7():
    """Eq. (6) at long τc (Φ = 1/2, T1 = 3τc/2; Δ_B = inf, N_I = inf) equals Eq. (7) read
    with B̃_L, and differs from the literal Eq. (7) (B_L) by far."""
    tau = 1e4  # corrections are O(1/τ²): Λ ≈ 4/τ², Kτ² ≈ 2/3 - (8/3)/τ²
    p = s24.Parameters(tau, b_local=1 / math.sqrt(3), delta_b=math.inf)
    b = jnp.geomspace(10.0, 1e6, 9)
    beta6 = s24.inverse_spin_temperature(p, b)
    beta7 = s24.inverse_spin_temperature_long(p, b)
    np.testing.assert_allclose(beta6, beta7, rtol=2e-7)
    literal = 4 * p.s_z * b / (b**2 + (tau * p.b_local) ** 2 / 4)
    assert float(jnp.max(jnp.abs(literal / beta6 - 1))) > 1.0


def test_polarization_saturates_at_one():
    b = jnp.array([1e5, 1e6])
    for tau in (0.0, 3.0, 10.0):
        p = s24.Parameters(tau, b_local=1 / math.sqrt(3), delta_b=math.inf, n_i=1e6)
        pol = s24.nuclear_polarization(p, b)
        np.testing.assert_allclose(pol, 1.0, atol=2e-7)
    # and <I_z>/I0 = ħγ_N B β /(4<S_z>) (Eq. (1))
    p = s24.Parameters.paper(3.0)
    pol = s24.nuclear_polarization(p, FIELDS)
    beta = s24.inverse_spin_temperature(p, FIELDS)
    np.testing.assert_allclose(pol, FIELDS * beta / (4 * p.s_z), rtol=1e-14)


def test_heating_rate_limits():
    b = jnp.array([0.0, 0.5, 1.0, 3.0, 100.0])  # units of B_L here
    p0 = s24.Parameters(0.0, b_local=1.0, delta_b=1e4)
    np.testing.assert_allclose(
        s24.heating_rate(p0, b), (b**2 + 3) / (b**2 + 1), rtol=1e-12
    )  # Lorentzian, decreasing thrice beyond B_L
    p_long = s24.Parameters(1e4, b_local=1.0, delta_b=1e4)
    assert float(s24.heating_rate(p_long, 0.0)) == pytest.approx(1.0, rel=1e-6)  # 3x less
    # at long τc the field suppresses the heating by far more than 3 (Fig. 3)
    p100 = s24.Parameters.paper(100.0, n_i=1e6)
    h = s24.heating_rate(p100, jnp.array([0.0, 1e3]))
    assert float(h[0] / h[1]) > 30
    # Eq. (13) from Eqs. (11), (12) and the fluxes (4), (5) written independently:
    # 1/T_E = (q_Z + q_SS)/(β C), q_Z = f(ħγB)²β/(4T1), q_SS = fΦβ(ħγB_L)²τc/(4T2*²)
    b, bl, tau = 7.0, float(p100.b_local), 100.0
    t1 = float(s24.electron_relaxation_time(p100, b))
    big_phi = float(s24.phi(p100, b))
    q = b**2 / (4 * t1) + big_phi * bl**2 * tau / 4  # per f β (ħγ_N)², T2* = 1
    rate = q / float(s24.heat_capacity(p100, b))  # heat capacity per N_I (ħγ_N)²: N_I = 1
    t0_inv = tau / 2  # f τc / (2 N_I T2*²) with f = N_I = 1
    assert float(s24.heating_rate(p100, b)) == pytest.approx(rate / t0_inv, rel=1e-12)


def test_mean_overhauser_field_adds_to_external():
    """(S23): a mean Overhauser field along z acts like extra external field (in Ω)."""
    p = s24.Parameters(2.0, delta_b=1.0, mean_overhauser=0.3)
    q = s24.Parameters(2.0, delta_b=1.0)
    np.testing.assert_allclose(
        s24.electron_relaxation_time(p, 0.5), s24.electron_relaxation_time(q, 0.8), rtol=1e-13
    )
    m = s24.mean_overhauser_from_beta(2.0, 0.5, 1e6)
    assert float(m) == pytest.approx(math.sqrt(1e6) * 2.0 * 0.5 / 4)


def test_broadcasting_and_gradients():
    p = s24.Parameters.paper(jnp.array([[1.0], [3.0], [10.0]]))
    beta = s24.inverse_spin_temperature(p, FIELDS[:4])
    assert beta.shape == (3, 4)
    np.testing.assert_allclose(
        beta[1], s24.inverse_spin_temperature(s24.Parameters.paper(3.0), FIELDS[:4]), rtol=1e-14
    )

    def f(tau, bl, b):
        return s24.inverse_spin_temperature(s24.Parameters(tau, b_local=bl, delta_b=20.0), b)

    args = (3.0, 0.4, 2.5)
    grads = jax.grad(f, argnums=(0, 1, 2))(*args)
    h = 1e-6
    for i, g in enumerate(grads):
        up = [a + h if j == i else a for j, a in enumerate(args)]
        dn = [a - h if j == i else a for j, a in enumerate(args)]
        assert float(g) == pytest.approx(float(f(*up) - f(*dn)) / (2 * h), rel=1e-6)
    vg = jax.vmap(jax.grad(f), in_axes=(0, None, None))(jnp.array([3.0, 5.0]), 0.4, 2.5)
    assert float(vg[0]) == pytest.approx(float(grads[0]), rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="tau_c"):
        s24.Parameters(-1.0)
    with pytest.raises(ValueError, match="b_local"):
        s24.Parameters(1.0, b_local=0.0)
    with pytest.raises(ValueError, match="field"):
        s24.inverse_spin_temperature(s24.Parameters(1.0), jnp.array([1.0, jnp.nan]))
    with pytest.raises(TypeError, match="params"):
        s24.inverse_spin_temperature({"tau_c": 1.0}, 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        s24.inverse_spin_temperature(s24.Parameters(jnp.ones(3)), jnp.ones(4))
