"""Dicke ladders: multiplicities, weights, truncation, matrix elements [Latta09, Sec. II]."""

import math

import numpy as np
import pytest

import jaxspin
from jaxspin.latta09 import DickeSpace, log_ladder_weights, matrix_elements, multiplicities_exact


@pytest.mark.parametrize("spin", [0.5, 1.5, 4.5])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12])
def test_multiplicities_count_every_state_exactly(n, spin):
    # Σ_I D(I)(2I+1) = (2 I_n + 1)^N in exact integer arithmetic.
    d = multiplicities_exact(n, spin)
    assert sum(v * (2 * i + 1) for i, v in d.items()) == int(round(2 * spin + 1)) ** n
    assert all(v >= 0 for v in d.values())
    if spin == 0.5:  # the paper's D(I) = C(N, N/2-I) - C(N, N/2-I-1), as in the engine
        assert all(v == jaxspin.dicke_multiplicity(n, i) for i, v in d.items())


def test_multiplicities_against_brute_force_diagonalisation():
    # Count the total spins of 3 spin-3/2 nuclei from the eigenvalues of I² (64 states).
    ops = jaxspin.collective_operators((1.5, 1.5, 1.5))
    i2 = np.asarray(ops.x @ ops.x + ops.y @ ops.y + ops.z @ ops.z).real
    lam = np.linalg.eigvalsh(i2)
    spins = np.round((-1 + np.sqrt(1 + 4 * lam)) / 2 * 2) / 2
    counts = {float(s): int(np.sum(spins == s)) for s in np.unique(spins)}
    d = multiplicities_exact(3, 1.5)
    assert counts == {i: v * int(2 * i + 1) for i, v in d.items() if v}


def test_weights_normalised_and_float_path_matches_exact():
    spins, logw = log_ladder_weights(10_000)
    assert abs(np.exp(logw).sum() - 1) < 1e-12
    # spin 3/2, N = 1001: the FFT counting path (N (2I+1) > 4000) against exact integers
    s_f, lw_f = log_ladder_weights(1001, 1.5)
    exact = multiplicities_exact(1001, 1.5)
    total = 4**1001
    w_exact = np.array([exact[float(i)] * int(2 * i + 1) / total for i in s_f])
    # FFT rounding ~1e-16 of the peak count per product; ladders below 1e-13 of it are dropped
    np.testing.assert_allclose(np.exp(lw_f), w_exact, rtol=1e-9, atol=1e-12)


def test_truncation_bound_and_grid():
    space = DickeSpace(1000, tail=1e-9)
    assert space.tail_weight <= 1e-9
    w = np.exp(log_ladder_weights(1000)[1])
    # keeping one ladder less would violate the bound
    assert w[int(space.i_cut) :].sum() > 1e-9
    assert space.num_m == 2 * space.i_cut + 1 == space.m.size
    odd = DickeSpace(7, tail=0.0)
    np.testing.assert_allclose(odd.spins, [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(odd.m, np.arange(-3.5, 3.6))
    with pytest.raises(ValueError, match="n_nuclei"):
        DickeSpace(0)
    with pytest.raises(ValueError, match="spin"):
        DickeSpace(10, spin=0.7)


@pytest.mark.parametrize("spin", [0.5, 1.5])
def test_thermal_sector_average(spin):
    # E[I(I+1) | I_z = m] in the fully mixed state: N/2 + m² for spin 1/2 (exactly), and
    # N I_n(I_n+1) - Σ<m_i²> + m² in general, checked by brute force on the product space.
    n = 4
    space = DickeSpace(n, spin, tail=0.0)
    got = space.thermal_i2_given_m()
    ops = jaxspin.collective_operators((spin,) * n)
    i2 = np.asarray(ops.x @ ops.x + ops.y @ ops.y + ops.z @ ops.z).real
    mz = np.round(np.diag(np.asarray(ops.z).real) * 2) / 2
    ref = [np.mean(np.diag(i2)[mz == m]) for m in space.m]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    if spin == 0.5:
        np.testing.assert_allclose(got, n / 2 + space.m**2, rtol=1e-12)


def test_matrix_elements_are_su2():
    for i in (0.5, 2.0, 4.5):
        sp = np.asarray(jaxspin.spin_operators(i).p).real
        m = jaxspin.spin_m_values(i)
        up, down = matrix_elements(np.array([i]), m)
        # <m+1|I+|m>² sits at column m (descending basis: I+ maps index k+1 to k)
        ref_up = np.zeros(m.size)
        ref_up[1:] = np.diag(sp, 1) ** 2
        np.testing.assert_allclose(np.asarray(up[0]), ref_up, atol=1e-12)
        ref_down = np.zeros(m.size)
        ref_down[:-1] = np.diag(sp, 1) ** 2
        np.testing.assert_allclose(np.asarray(down[0]), ref_down, atol=1e-12)
    # outside the ladder nothing moves
    up, down = matrix_elements(np.array([1.0]), np.array([-2.0, 2.0]))
    assert float(np.abs(up).max()) == 0.0 and float(np.abs(down).max()) == 0.0
    assert math.isclose(float(matrix_elements(np.array([3.0]), np.array([0.0]))[0][0, 0]), 12.0)
