import math

import pytest

from jaxspin import constants as c


def test_fundamental_relations():
    assert c.H_PLANCK / (2 * math.pi) == pytest.approx(c.HBAR, rel=1e-9)
    # mu_B / mu_N = m_p / m_e
    assert c.MU_B / c.MU_N == pytest.approx(1836.15267343, rel=1e-9)
    # free electron: 28.0249514 GHz/T
    assert c.GYRO_E / (2 * math.pi) / 1e9 == pytest.approx(28.0249514, rel=1e-7)


def test_isotopes():
    assert c.ISOTOPES["1H"].gamma_hz / 1e6 == pytest.approx(42.577, abs=1e-3)
    assert c.ISOTOPES["75As"].spin == 1.5
    assert c.ISOTOPES["75As"].gamma_hz / 1e6 == pytest.approx(7.315, abs=1e-3)
    assert c.ISOTOPES["29Si"].gamma < 0
    # g-factor of the proton: 5.5857
    assert c.ISOTOPES["1H"].g_factor == pytest.approx(5.5857, abs=1e-3)
    for iso in c.ISOTOPES.values():
        assert 0 < iso.abundance <= 1
        assert (2 * iso.spin) == int(2 * iso.spin)
    with pytest.raises(KeyError, match="known isotopes"):
        c.isotope("999Xx")


def test_conversions_round_trip():
    w = c.ueV_to_angular_frequency(1.0)
    assert c.angular_frequency_to_ueV(w) == pytest.approx(1.0)
    # 1 ueV = 241.8 MHz * 2 pi
    assert w / (2 * math.pi) / 1e6 == pytest.approx(241.7989, rel=1e-5)
    assert c.electron_larmor(1.0, g=-0.44) == pytest.approx(0.44 * c.MU_B / c.HBAR)
