"""The Overhauser-field decay (Figs. 3-5 of [Gong11]) and the fits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin.gong11 import (
    DiskGrid,
    Krylov,
    QuantumDot,
    default_neighbourhood,
    diffusion_coefficient,
    overhauser_decay,
)
from jaxspin.gong11._fit import fit_dot, fit_effective_diffusion


GRID = DiskGrid(radius_nm=300.0, spacing_nm=5.0)  # coarser than the figures' 3 nm
TS = jnp.array([0.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 1e4])
FAR = jnp.array([200.0, 0.0])
# (B0 [T], S_z, r0 [nm]) of the decays shared by the tests below (one vmapped solve)
CASES = {
    "20mT": (0.02, 0.5, 30.0),
    "0.2T": (0.2, 0.5, 30.0),
    "2T": (2.0, 0.5, 30.0),
    "singlet_50mT": (0.05, 0.0, 30.0),
    "singlet_2T": (2.0, 0.0, 30.0),
    "0.2T_r0=10": (0.2, 0.5, 10.0),
    "0.2T_r0=20": (0.2, 0.5, 20.0),
}


@pytest.fixture(scope="module")
def decays():
    B, S, R0 = (jnp.array(v) for v in zip(*CASES.values(), strict=True))
    h = jax.vmap(
        lambda b, s, r0: overhauser_decay(QuantumDot(B0_T=b, s_z=s), TS, grid=GRID, r0_nm=r0)
    )(B, S, R0)
    return dict(zip(CASES, np.asarray(h), strict=True))


def _bulk():
    return float(diffusion_coefficient(QuantumDot(), default_neighbourhood(), FAR))


def test_singlet_gives_the_bulk_only_decay(decays):
    """S_z = 0 ((2,0) singlet): no Knight shift, no electron-mediated flip-flops; the
    decay is the constant-D decay with the bulk D, at every field."""
    hz = decays["singlet_50mT"]
    res = fit_effective_diffusion(TS, hz, QuantumDot(s_z=0.0), grid=GRID, r0_nm=30.0)
    np.testing.assert_allclose(res.params.D_nm2_s, _bulk(), rtol=1e-6)
    np.testing.assert_allclose(decays["singlet_2T"], hz, rtol=1e-9)


def test_strong_field_decay_is_slow_and_fits_a_small_effective_D(decays):
    """Fig. 4: at 2 T the Knight shift suppresses diffusion around the dot; a constant D
    fitted to h_z(t) is well below the bulk value (the paper: 0.7 vs 7 nm^2/s; this
    model: 0.2-0.3 x bulk depending on the fit's time sampling; README.md (gong11) shows how
    the readings move it). The constant-D curve does not fit exactly, so the standard
    error only measures the misfit and is not tested."""
    res = fit_effective_diffusion(TS, decays["2T"], QuantumDot(B0_T=2.0), grid=GRID, r0_nm=30.0)
    D_eff = float(res.params.D_nm2_s)
    assert bool(res.converged)
    assert 0.1 * _bulk() < D_eff < 0.5 * _bulk()


def test_smaller_initial_width_decays_faster(decays):
    """Fig. 5: a narrower initial polarisation (short DNP pump, r0 < l0) decays faster."""
    curves = [decays[k] / decays[k][0] for k in ("0.2T_r0=10", "0.2T_r0=20", "0.2T")]
    for narrow, wide in zip(curves[:-1], curves[1:], strict=True):
        assert np.all(narrow[1:-1] < wide[1:-1])


def test_lower_field_decays_faster(decays):
    """Fig. 3: the electron-mediated flip-flops (~1/B0) speed up the decay at low field.
    (That the (1,1) state decays faster than the (2,0) singlet, as the paper reports for
    tens of mT, holds in this lattice-validated model only below ~10 mT and at early
    times: the gong11 section of README.md.)"""
    curves = [decays[k] / decays[k][0] for k in ("20mT", "0.2T", "2T")]
    for fast, slow in zip(curves[:-1], curves[1:], strict=True):
        assert np.all(fast[1:-1] < slow[1:-1])


def test_decay_gradient_matches_finite_differences():
    grid = DiskGrid(radius_nm=80.0, spacing_nm=5.0)
    ts = jnp.array([50.0, 500.0])

    def h(A0, l0):
        dot = QuantumDot(A0_neV=A0, l0_nm=l0, B0_T=0.2)
        return overhauser_decay(dot, ts, grid=grid, solver=Krylov(128))

    jac = jax.jacrev(h, argnums=(0, 1))(1.0, 30.0)
    for k, (x, eps) in enumerate(((1.0, 1e-5), (30.0, 1e-4))):
        args = [1.0, 30.0]
        args[k] = x + eps
        up = h(*args)
        args[k] = x - eps
        down = h(*args)
        np.testing.assert_allclose(jac[k], (up - down) / (2 * eps), rtol=1e-5)


def _noisy_fit(grid, ts, key):
    truth = QuantumDot(B0_T=0.2)
    clean = overhauser_decay(truth, ts, grid=grid)
    sigma = 0.01 * float(clean[0])
    noisy = clean + sigma * jax.random.normal(jax.random.PRNGKey(key), clean.shape)
    start = QuantumDot(B0_T=0.2, A0_neV=0.7, l0_nm=25.0)
    return fit_dot(ts, noisy, start, sigma=sigma, grid=grid, solver=Krylov(256)), noisy


def _check_fit(res):
    assert bool(res.converged)
    for name, true in (("A0_neV", 1.0), ("l0_nm", 30.0)):
        value = float(getattr(res.params, name))
        err = float(getattr(res.stderr, name))
        assert 0 < err < 0.3 * true
        assert abs(value - true) < 4 * err, (name, value, err)
    assert 0.2 < float(res.reduced_chi2) < 2.5


@pytest.mark.slow
def test_fit_of_A0_and_l0_from_a_noisy_decay():
    """A synthetic decay at 0.2 T (A0 = 1 neV, l0 = 30 nm) with 1% noise, fitted from
    (0.7 neV, 25 nm) by gradient descent through the whole model (diffusion map, PDE,
    Lanczos), with Gauss-Newton error bars. (~2 min on 2 cores.) The data fix A0 l0^2
    (the amplitude) well and the split between A0 and l0 only to ~15% (correlated)."""
    ts = jnp.linspace(0, 3000, 16)
    res, noisy = _noisy_fit(DiskGrid(radius_nm=150.0, spacing_nm=6.0), ts, 7)
    _check_fit(res)
    with pytest.raises(ValueError, match="free"):
        fit_dot(ts, noisy, QuantumDot(), free=("spin",))


def test_time_check_holds_inside_jit_for_constant_times():
    """Concrete times closed over by a jitted function are checked now, not staged (that
    raised TracerBoolConversionError before)."""
    from jaxspin.gong11._decay import _check_times

    good, bad = jnp.linspace(0.0, 1.0, 3), jnp.array([0.0, -1.0])
    assert jax.jit(lambda: _check_times(good))().shape == (3,)
    with pytest.raises(ValueError, match="finite and >= 0"):
        jax.jit(lambda: _check_times(bad))()
