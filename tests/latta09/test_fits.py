"""The Fig. S1c/S1d fits through the fit layer: recover known parameters from synthetic data."""

import jax
import numpy as np
import pytest

from jaxspin.latta09 import (
    CommonSaturation,
    CriticalStep,
    common_saturation_model,
    critical_step_model,
    fit_common_saturation,
    fit_critical_step,
)


def test_common_saturation_time_is_recovered():
    rng = np.random.default_rng(11)
    truth = CommonSaturation(
        tau=1.0, w_min=np.array([1.0, 1.2, 1.1]), w_max=np.array([6.0, 4.0, 2.0])
    )
    dwells = tuple(np.geomspace(0.05, 20, n) for n in (12, 9, 7))
    clean = common_saturation_model(jax.tree.map(np.asarray, truth), dwells)
    noisy = tuple(np.asarray(c) + 0.02 * rng.normal(size=c.shape) for c in clean)
    res = fit_common_saturation(dwells, noisy, sigma=0.02)
    tau, err = float(res.params.tau), float(res.stderr.tau)
    assert abs(tau - 1.0) < 4 * err and err < 0.05
    np.testing.assert_allclose(np.asarray(res.params.w_max), truth.w_max, atol=0.1)


@pytest.mark.slow
def test_critical_step_is_recovered():
    steps = np.linspace(0.1, 3.0, 12)
    truth = CriticalStep(w_0=8.0, w_inf=1.5, delta_c=0.75)
    y = np.asarray(critical_step_model(jax.tree.map(np.asarray, truth), steps))
    res = fit_critical_step(steps, y)
    np.testing.assert_allclose(float(res.params.delta_c), 0.75, rtol=1e-5)
