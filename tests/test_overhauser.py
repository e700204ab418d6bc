"""Gaussian Overhauser-field averages: closed forms, Monte Carlo vs quadrature, gradients.

Reference math (σ: rms of one Cartesian component, c = Ω_B + <Ω_N> along z):
<Ω_z> = c, <Ω_z²> = c² + σ², <Ω_z³> = c³ + 3cσ², <Ω_⊥²> = 2σ² for any c,
<1/|Ω_e|²> = √2 D(c/(√2σ))/(σc) with D the Dawson function (→ 1/σ² at c = 0),
<1/(1 + Ω_e²τ²)> at c = 0 = (1 - √(π/2) erfcx(1/(√2στ))/(στ)) / (στ)², and
<Ω_⊥²/Ω_e²> = 2/3 at c = 0 (isotropy), hence τ<Ω_⊥²τ/(1+Ω_e²τ²)>^{-1} → 3τ/2 at long τ
[Smirnov24, text after Eq. (6)].
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import jaxspin
from jaxspin._overhauser import (
    OverhauserField,
    TanhSinh,
    overhauser_mc,
    overhauser_quad,
    overhauser_radial,
)


SIGMA = 0.5  # σ = 1/(2 T2e*) in units of 1/T2e*


def moments_g(r, mu, sin2):
    return (jnp.ones_like(r), r * mu, r**2 * (1 - sin2), r**2 * sin2, r**2)


@pytest.mark.parametrize("c", [0.0, 0.3, -1.7, 4.0, 40.0])
def test_radial_moments_closed_form(c):
    field = OverhauserField(omega_b=c - 0.1, mean=0.1, sigma=SIGMA)
    est = overhauser_radial(moments_g, field)
    expect = (1.0, c, c**2 + SIGMA**2, 2 * SIGMA**2, c**2 + 3 * SIGMA**2)
    for v, e, err in zip(est.value, expect, est.error, strict=True):
        assert abs(float(v) - e) <= 1e-13 * max(1.0, abs(e))
        assert float(err) < 1e-6 * max(1.0, abs(e))


@pytest.mark.parametrize("c", [0.0, 0.3, 2.0, 7.0])
def test_inverse_square_dawson(c):
    field = OverhauserField(c, 0.0, SIGMA)
    value = float(overhauser_radial(lambda r, mu, sin2: 1 / r**2, field).value)
    if c == 0:
        expect = 1 / SIGMA**2
    else:
        x = c / (math.sqrt(2) * SIGMA)
        expect = math.sqrt(2) / (SIGMA * c) * special.dawsn(x)
    assert value == pytest.approx(expect, rel=1e-13)


@pytest.mark.parametrize("tau", [0.1, 1.0, 30.0, 1e4])
def test_lorentzian_closed_form_and_error_estimate(tau):
    field = OverhauserField(0.0, 0.0, SIGMA)
    st = SIGMA * tau
    expect = (1 - math.sqrt(math.pi / 2) * special.erfcx(1 / (math.sqrt(2) * st)) / st) / st**2
    g = lambda r, mu, sin2: 1 / (1 + (r * tau) ** 2)
    est = overhauser_radial(g, field, breakpoints=(1 / tau,))
    assert float(est.value) == pytest.approx(expect, rel=1e-12)
    # a coarse rule: its error estimate must bound its true error
    coarse = overhauser_radial(g, field, breakpoints=(1 / tau,), rule=TanhSinh(level=2))
    true_err = abs(float(coarse.value) - expect)
    assert true_err <= float(coarse.error)


def test_t1_long_correlation_time_is_three_halves_tau():
    """τ / (τ<Ω_⊥²τ/(1+Ω_e²τ²)>) → 3τ/2 at B = 0, τ ≫ T2e* [Smirnov24, after Eq. (6)]."""
    field = OverhauserField.from_t2star(1.0)
    for tau in (1e3, 1e5):
        g = lambda r, mu, sin2: r**2 * sin2 * tau / (1 + (r * tau) ** 2)
        rate = float(overhauser_radial(g, field, breakpoints=(1 / tau,)).value)
        assert 1 / rate == pytest.approx(1.5 * tau, rel=10 / tau)
    iso = overhauser_radial(lambda r, mu, sin2: sin2, field)
    assert float(iso.value) == pytest.approx(2 / 3, rel=1e-14)


def test_density_s23_matches_t2star_definitions():
    """(S23) with T2e* = ħ/(a√N_I), N_I = 4NI(I+1)/3: the variance per component is the
    infinite-temperature (a/ħ)² N I(I+1)/3, and the density is the paper's formula."""
    a, n, spin, hbar = 2.3e-6, 7.0e4, 1.5, 1.0  # any consistent units
    n_i = 4 * n * spin * (spin + 1) / 3
    t2 = hbar / (a * math.sqrt(n_i))
    field = OverhauserField.from_t2star(t2, mean=0.4 / t2)
    assert float(field.sigma) ** 2 == pytest.approx((a / hbar) ** 2 * n * spin * (spin + 1) / 3)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(5, 3)) / t2
    paper = (math.sqrt(2 / math.pi) * t2) ** 3 * np.exp(
        -2 * t2**2 * np.sum((pts - np.array([0, 0, 0.4 / t2])) ** 2, -1)
    )
    np.testing.assert_allclose(field.density(pts), paper, rtol=1e-13)
    samples = np.asarray(field.sample(jax.random.key(3), (200_000,)))
    np.testing.assert_allclose(samples.var(0) * t2**2, 0.25, rtol=0.02)


def test_quad_2d_closed_forms_and_radial_agreement():
    c = np.array([0.1, -0.6, 2.1, 30.1])
    field = OverhauserField(c - 0.05, 0.05, SIGMA)  # batched: one compilation
    f = lambda z, p: (z, z**2, z**3, p**2, p**2 / (z**2 + p**2), 1 / (1 + 100 * (z**2 + p**2)))
    est = overhauser_quad(f, field, breakpoints=(0.1,))
    rad = overhauser_radial(
        lambda r, mu, sin2: (sin2, 1 / (1 + 100 * r**2)), field, breakpoints=(0.1,)
    )
    expect = (c, c**2 + SIGMA**2, c**3 + 3 * c * SIGMA**2, np.full(4, 2 * SIGMA**2))
    for v, e in zip(est.value[:4], expect, strict=True):
        np.testing.assert_allclose(v, e, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(est.value[4:], rad.value, rtol=1e-10)
    for v, e in zip(est.value, est.error, strict=True):
        assert np.all(np.asarray(e) < 1e-8 * np.maximum(1.0, np.abs(np.asarray(v))))


def f_vec(w):
    """Three test integrands of the 3-vector Ω_e (one compilation for all)."""
    o2 = w @ w
    return jnp.stack(
        [
            (w[0] ** 2 + w[1] ** 2) * 3.0 / (1 + 9.0 * o2),  # Eq. (S12) at τ = 3
            jnp.cos(2.0 * jnp.sqrt(o2)) * w[2] ** 2 / o2,  # a precession signal
            jnp.tanh(5.0 * w[2]),  # a sharp step in Ω_z
        ]
    )


def f_zp(z, p):
    """The same integrands as functions of (Ω_z, Ω_⊥)."""
    return f_vec(jnp.stack([p, jnp.zeros_like(p), z]))


def test_mc_matches_quadrature_within_stderr():
    field = OverhauserField(omega_b=jnp.array([0.0, 0.4, 1.5]), mean=-0.2, sigma=SIGMA)
    quad = overhauser_quad(lambda z, p: (f_zp(z, p), f_zp(z, p) ** 2), field, breakpoints=(1 / 3,))
    n = 400_000
    mc = overhauser_mc(f_vec, field, jax.random.key(11), n, chunk_size=65_536)
    mean, mean2 = np.asarray(quad.value[0]), np.asarray(quad.value[1])
    z = (np.asarray(mc.value) - mean) / np.asarray(mc.stderr)
    assert np.all(np.abs(z) < 4.5), z
    assert np.all(np.asarray(quad.error[0]) < 0.05 * np.asarray(mc.stderr))
    # stderr is the honest s/√n: σ_f/√n with σ_f² = <f²> - <f>² from the quadrature
    np.testing.assert_allclose(mc.stderr, np.sqrt((mean2 - mean**2) / n), rtol=0.02)


def test_mc_chunk_merge_is_exact():
    """Chunked mean/variance (with a partial last chunk) equals NumPy on the same samples."""
    field = OverhauserField(0.7, 0.0, SIGMA)
    key = jax.random.key(5)
    n, chunk = 1000, 300
    f = lambda w: jnp.stack([w[2], w[0] * w[1]])
    est = overhauser_mc(f, field, key, n, chunk_size=chunk)
    samples = np.concatenate(
        [np.asarray(field.sample(jax.random.fold_in(key, i), (chunk,))) for i in range(4)]
    )[:n]
    ys = np.stack([samples[:, 2], samples[:, 0] * samples[:, 1]], -1)
    np.testing.assert_allclose(est.value, ys.mean(0), rtol=1e-13)
    np.testing.assert_allclose(est.stderr, ys.std(0, ddof=1) / math.sqrt(n), rtol=1e-12)
    assert est.num_samples == n


def test_batched_fields_match_loop_and_vmap():
    g = lambda r, mu, sin2: (r**2 * sin2 / (1 + 4 * r**2), r * mu)
    cs = jnp.array([[0.0, 0.5], [2.0, -3.0]])
    batched = overhauser_radial(g, OverhauserField(cs, 0.0, SIGMA), breakpoints=(0.5,))
    assert batched.value[0].shape == (2, 2)
    for idx in np.ndindex(2, 2):
        single = overhauser_radial(g, OverhauserField(cs[idx], 0.0, SIGMA), breakpoints=(0.5,))
        np.testing.assert_allclose(batched.value[0][idx], single.value[0], rtol=1e-14)
    via_vmap = jax.vmap(
        lambda c: overhauser_radial(g, OverhauserField(c, 0.0, SIGMA), breakpoints=(0.5,)).value
    )(cs.reshape(-1))
    np.testing.assert_allclose(via_vmap[1], batched.value[1].reshape(-1), rtol=1e-14)
    vv = jax.vmap(jax.vmap(lambda c: overhauser_radial(g, OverhauserField(c, 0.0, SIGMA)).value[0]))
    np.testing.assert_allclose(
        vv(cs), overhauser_radial(g, OverhauserField(cs, 0.0, SIGMA)).value[0], rtol=1e-14
    )


@jax.jit
def lorentz_t1(c, tau, sigma):
    g = lambda r, mu, sin2: r**2 * sin2 * tau / (1 + (r * tau) ** 2)
    return overhauser_radial(g, OverhauserField(c, 0.0, sigma), breakpoints=(1 / tau,)).value


def test_gradients_match_finite_differences():
    args = (jnp.asarray(0.8), jnp.asarray(3.0), jnp.asarray(0.5))
    grads = jax.grad(lorentz_t1, argnums=(0, 1, 2))(*args)
    for i, gi in enumerate(grads):
        h = 1e-5
        up = [a + h if j == i else a for j, a in enumerate(args)]
        dn = [a - h if j == i else a for j, a in enumerate(args)]
        fd = (lorentz_t1(*up) - lorentz_t1(*dn)) / (2 * h)
        assert float(gi) == pytest.approx(float(fd), rel=1e-7)
    # vmap of grad, and the derivative at c = 0 (where |c| is not smooth) is 0 by symmetry
    g_c = jax.vmap(jax.grad(lorentz_t1), in_axes=(0, None, None))(jnp.array([0.0, 0.8]), 3.0, 0.5)
    assert abs(float(g_c[0])) < 1e-12
    assert float(g_c[1]) == pytest.approx(float(grads[0]), rel=1e-12)


def test_quad_gradient_matches_finite_differences():
    @jax.jit
    def avg(c):
        f = lambda z, p: p**2 * jnp.exp(-z) / (1 + z**2 + p**2)
        return overhauser_quad(f, OverhauserField(c, 0.0, SIGMA)).value

    h = 1e-5
    fd = (avg(1.3 + h) - avg(1.3 - h)) / (2 * h)
    assert float(jax.grad(avg)(1.3)) == pytest.approx(float(fd), rel=1e-7)


def test_mc_pathwise_gradient_matches_finite_differences():
    key = jax.random.key(2)

    @jax.jit
    def avg(c):
        f = lambda w: (w[0] ** 2 + w[1] ** 2) / (1 + w @ w)
        return overhauser_mc(f, OverhauserField(c, 0.0, SIGMA), key, 20_000).value

    h = 1e-5
    fd = (avg(0.9 + h) - avg(0.9 - h)) / (2 * h)  # same key: common random numbers
    assert float(jax.grad(avg)(0.9)) == pytest.approx(float(fd), rel=1e-6)


def test_bad_input_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="sigma"):
        OverhauserField(0.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        OverhauserField(float("nan"), 0.0, 1.0)
    with pytest.raises(TypeError, match="callable"):
        overhauser_radial(3.0, OverhauserField())
    with pytest.raises(ValueError, match="num_samples"):
        overhauser_mc(lambda w: w[0], OverhauserField(), jax.random.key(0), 1)
    with pytest.raises(ValueError, match="level"):
        TanhSinh(level=0)
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1M")
    with pytest.raises(jaxspin.MemoryBudgetError, match="overhauser_mc"):
        overhauser_mc(lambda w: w[0], OverhauserField(), jax.random.key(0), 10**8)
    # traced bad sigma is caught at run time
    with pytest.raises(Exception, match="sigma"):
        jax.block_until_ready(
            jax.jit(lambda s: overhauser_radial(lambda r, a, b: r, OverhauserField(0.0, 0.0, s)))(
                -1.0
            ).value
        )
