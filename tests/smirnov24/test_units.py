"""SI conversions of the dimensionless units [Smirnov24, Eqs. (1), (S14)]."""

import math

import pytest

from jaxspin import constants, smirnov24 as s24


def test_effective_nuclei_and_t2star():
    assert s24.effective_nuclei(1e4, 0.5) == pytest.approx(1e4)  # N_I = N for I = 1/2
    assert s24.effective_nuclei(1e4, 1.5) == pytest.approx(5e4)
    # T2e* = ħ/(a√N_I) with a = A/N; A = 100 μeV, N = 1e4, I = 3/2
    t2 = s24.t2e_star_from_total(100.0, 1e4, 1.5)
    a = 100e-6 * constants.E_CHARGE / 1e4
    assert t2 == pytest.approx(constants.HBAR / (a * math.sqrt(5e4)), rel=1e-14)
    # Δ_B = ħ/(|g| μ_B T2e*): the electron Larmor frequency at Δ_B is 1/T2e*
    d_b = s24.electron_field(t2, -0.44)
    assert constants.electron_larmor(d_b, g=-0.44) * t2 == pytest.approx(1.0, rel=1e-14)
    with pytest.raises(ValueError):
        s24.electron_field(t2, 0.0)


def test_spin_temperature_kelvin():
    # ħγ_N β = 1 per mT for 75As: θ = ħ γ_N (1 mT) / k_B
    theta = s24.spin_temperature_kelvin(1.0, "75As", 1e-3)
    gamma = constants.ISOTOPES["75As"].gamma
    assert theta == pytest.approx(constants.HBAR * gamma * 1e-3 / constants.K_B, rel=1e-14)
    assert s24.spin_temperature_kelvin(-1.0, "75As", 1e-3) < 0
    assert s24.mean_nuclear_spin(1.0, 1.5, 0.5) == pytest.approx(2.5)
    # T0 = 2 N_I T2e*²/(f τc) with τc = 10 T2e*
    t0 = s24.heating_time_unit(1e-9, 10.0, 1e4, 0.5)
    assert t0 == pytest.approx(2 * 1e4 * 1e-18 / (0.5 * 1e-8))
