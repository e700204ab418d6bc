"""Gradient-based fit of τc/T2e*, B_L and <S_z> to synthetic polarization-vs-field data,
with Hessian error bars that cover the truth [Smirnov24, Eqs. (1), (6)].

Design of the synthetic experiment: at fields ≪ Δ_B the polarization is
B²/(B² + W²) with one width W(τc, B_L), so τc and B_L are degenerate there; the field
dependence of T1e^N above Δ_B/τc (the saturation level <S_z>/(1 + 2ΦB_L²τc²/Δ_B²)) breaks
the degeneracy. Δ_B = 8 B_L makes that visible with 0.1 % noise.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin import smirnov24 as s24


TRUTH = s24.Parameters(3.0, b_local=1.0, delta_b=8.0, n_i=1e5, s_z=0.25)
FIELDS = jnp.geomspace(0.3, 300.0, 48)
START = s24.Parameters(1.0, b_local=0.5, delta_b=8.0, n_i=1e5, s_z=0.2)


def synthetic(seed, noise):
    rng = np.random.default_rng(seed)
    clean = s24.polarization_model(TRUTH, FIELDS)
    return clean + noise * rng.normal(size=FIELDS.shape)


def check_cover(res, k=3.0):
    for name in ("tau_c", "b_local", "s_z"):
        value, err = float(getattr(res.params, name)), float(getattr(res.stderr, name))
        truth = float(getattr(TRUTH, name))
        assert math.isfinite(err) and err > 0
        assert abs(value - truth) < k * err, (name, value, err, truth)


def test_fit_recovers_truth_with_error_bars():
    noise = 1e-3
    res = s24.fit_polarization(FIELDS, synthetic(0, noise), START, sigma=noise)
    assert bool(res.converged)
    check_cover(res)
    assert 0.5 < float(res.reduced_chi2) < 1.6
    # fixed parameters are untouched, and the error bars are informative
    assert float(res.params.delta_b) == 8.0 and float(res.stderr.delta_b) == 0.0
    assert float(res.stderr.tau_c) < 0.3 * float(TRUTH.tau_c)
    # noise-free data: the fit returns the truth itself
    exact = s24.fit_polarization(FIELDS, synthetic(0, 0.0), START, sigma=noise)
    for name in ("tau_c", "b_local", "s_z"):
        assert float(getattr(exact.params, name)) == pytest.approx(
            float(getattr(TRUTH, name)), rel=1e-5
        )


@pytest.mark.slow
def test_error_bars_are_calibrated():
    """Over 40 noise realisations the pulls (fit - truth)/stderr have unit spread."""
    noise = 1e-3
    pulls = []
    for seed in range(40):
        res = s24.fit_polarization(FIELDS, synthetic(100 + seed, noise), START, sigma=noise)
        pulls.append(
            [
                (float(getattr(res.params, n)) - float(getattr(TRUTH, n)))
                / float(getattr(res.stderr, n))
                for n in ("tau_c", "b_local", "s_z")
            ]
        )
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls.mean(0)) < 0.6)
    assert np.all((0.6 < pulls.std(0)) & (pulls.std(0) < 1.5))


def test_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        s24.fit_polarization(FIELDS, FIELDS[:-1], START)
    with pytest.raises(ValueError, match="unknown parameter"):
        s24.fit_polarization(FIELDS, FIELDS, START, free=("tau",))
