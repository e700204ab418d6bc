"""Single dot with spin-dependent tunnelling [Danon11, Eq. (13)-(20)].

The closed forms are transcribed here independently of the package (NumPy), and the
numerical S, χ, R of the generic machinery must reproduce them to 1e-10 at random points.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
from jaxspin.danon11 import SingleDot


def random_dots(seed, size=24):
    rng = np.random.default_rng(seed)
    p = dict(
        gamma_up=rng.uniform(0.05, 2.0, size),
        gamma_down=rng.uniform(0.05, 2.0, size),
        coupling=rng.uniform(0.1, 3.0, size),
        num_nuclei=rng.uniform(1.0, 50.0, size),
        nuclear_relaxation=np.zeros(size),  # every field batched, for vmap over models
    )
    b = rng.uniform(-3.0, 3.0, size)
    k = rng.uniform(-0.5, 0.5, size)
    return p, b, k


@eqx.filter_jit
@jax.vmap
def numerics(dot, b, k):
    r = dot.response(b)
    return r.rho, r.chi, r.R, dot.pumping_rate(k, b)


def eq14(gu, gd, b):
    return (gd - gu) / (2 * b**2 + 0.5 * (gu + gd) ** 2)


def eq15(gu, gd, b):
    return (gu + gd) / (2 * b**2 + 0.5 * (gu + gd) ** 2)


def eq16(gu, gd, an, b_eff, k):
    return an**2 * (gd * (0.5 - k) - gu * (0.5 + k)) / (4 * b_eff**2 + (gu + gd) ** 2)


def test_lindbladian_is_eq13():
    """H = -B_eff S_z and rates[σ', σ] = Γ_σ/2 (diagonal included) give Eq. (13) entry by
    entry, including the coherence decay Γ/2."""
    gu, gd, b = 0.3, 1.7, 0.9
    L = SingleDot(gu, gd).lindbladian(b)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    rho = x @ x.conj().T
    out = np.asarray(L(jnp.asarray(rho)))
    G = gu + gd
    ref = np.array(
        [
            [
                -gu * rho[0, 0] + 0.5 * (gd * rho[1, 1] + gu * rho[0, 0]),
                (1j * b - G / 2) * rho[0, 1],
            ],
            [
                (-1j * b - G / 2) * rho[1, 0],
                -gd * rho[1, 1] + 0.5 * (gd * rho[1, 1] + gu * rho[0, 0]),
            ],
        ]
    )
    np.testing.assert_allclose(out, ref, atol=1e-14)


def test_eq13_14_15_16_at_random_points():
    p, b, k = random_dots(1)
    dots = SingleDot(**p)
    rho, chi, R, rate = numerics(dots, jnp.asarray(b), jnp.asarray(k))
    gu, gd = p["gamma_up"], p["gamma_down"]
    G = gu + gd
    np.testing.assert_allclose(rho[:, 0, 0].real, gd / G, rtol=1e-12)
    np.testing.assert_allclose(np.abs(rho[:, 0, 1]), 0.0, atol=1e-14)
    np.testing.assert_allclose(chi[:, 0, 1] - chi[:, 1, 0], eq14(gu, gd, b), rtol=1e-10)
    np.testing.assert_allclose(R[:, 0, 0] + R[:, 1, 1], eq15(gu, gd, b), rtol=1e-10)
    an = p["coupling"] / p["num_nuclei"]
    np.testing.assert_allclose(rate, eq16(gu, gd, an, b, k), rtol=1e-10, atol=1e-14 * an.max())
    # the package's closed-form methods are the same formulas
    cf = jax.vmap(
        lambda d, b, k: jnp.stack(
            [
                d.closed_form_chi_asymmetry(b),
                d.closed_form_fluctuation_sum(b),
                d.closed_form_rate(k, b),
            ]
        )
    )(dots, b, k)
    np.testing.assert_allclose(cf[:, 0], eq14(gu, gd, b), rtol=1e-13)
    np.testing.assert_allclose(cf[:, 1], eq15(gu, gd, b), rtol=1e-13)
    np.testing.assert_allclose(cf[:, 2], eq16(gu, gd, an, b, k), rtol=1e-12, atol=1e-16)


def test_feedback_uses_b_eff_and_rate_is_along_z():
    """polarization_rate(k, B_ext) = Eq. (16) at B_eff = B_ext - A k; by axial symmetry the
    full Eq. (1) vector at ⟨K⟩ = (0, 0, k) has no x, y components."""
    from jaxspin.danon11 import nuclear_rate

    dot = SingleDot(0.4, 1.3, coupling=2.5, num_nuclei=7.0, nuclear_relaxation=0.01)
    k, b_ext = 0.21, 1.1
    an = 2.5 / 7.0
    ref = eq16(0.4, 1.3, an, b_ext - 2.5 * k, k) - 0.01 * k
    np.testing.assert_allclose(dot.polarization_rate(k, b_ext), ref, rtol=1e-10)
    full = nuclear_rate(dot.response(b_ext - 2.5 * k), jnp.array([0.0, 0.0, k]), coupling=an)
    np.testing.assert_allclose(full[:2], 0.0, atol=1e-15)
    np.testing.assert_allclose(full[2], ref + 0.01 * k, rtol=1e-10)


def test_golden_rule_equals_eq16_for_all_fields():
    """Eq. (17)-(20): with D the sum of the two Lorentzian broadenings, the golden rule
    reproduces Eq. (16) also for B_eff ≲ Γ [Danon11, after Eq. (20)]."""
    p, b, k = random_dots(2)
    b = np.concatenate([b[:12], 0.01 * b[12:]])  # half of the points deep in B_eff << Γ
    dots = SingleDot(**p)
    plus, minus = jax.vmap(lambda d, b, k: d.golden_rule_rates(k, b))(dots, b, k)
    gu, gd = p["gamma_up"], p["gamma_down"]
    an = p["coupling"] / p["num_nuclei"]
    G = gu + gd
    np.testing.assert_allclose(plus, an**2 * gd * (0.5 - k) / (4 * b**2 + G**2), rtol=1e-12)
    np.testing.assert_allclose(minus, an**2 * gu * (0.5 + k) / (4 * b**2 + G**2), rtol=1e-12)
    _, _, _, rate = numerics(dots, jnp.asarray(b), jnp.asarray(k))
    np.testing.assert_allclose(plus - minus, rate, rtol=1e-10, atol=1e-14 * an.max())


def test_gradients_match_finite_differences():
    def rate(x):
        gu, gd, A, b = x
        dot = SingleDot(gu, gd, coupling=A, num_nuclei=4.0)
        return dot.polarization_rate(0.13, b, solver=jaxspin.DenseLU(unroll_max=0))

    x = jnp.array([0.3, 1.2, 0.8, 0.7])
    g = jax.jit(jax.grad(rate))(x)
    f = jax.jit(rate)
    h = 1e-6
    fd = jnp.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in jnp.eye(4)])
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    # and the gradient of the closed form Eq. (16) (exact derivative, no differences)
    cf = lambda x: eq16(x[0], x[1], x[2] / 4.0, x[3] - x[2] * 0.13, 0.13)
    np.testing.assert_allclose(g, jax.grad(cf)(x), rtol=1e-9)


def test_closed_forms_refuse_other_nuclear_spins():
    dot = SingleDot(0.3, 1.0, coupling=1.0, nuclear_spin=1.5)
    with pytest.raises(ValueError, match="K = 1/2"):
        dot.closed_form_rate(0.0, 1.0)
    # the generic path works for any K: P ∝ K(K+1), Q independent of K
    half = SingleDot(0.3, 1.0, coupling=1.0)
    r15, r05 = dot.pumping_rate(0.0, 1.0), half.pumping_rate(0.0, 1.0)
    np.testing.assert_allclose(r15 / r05, (1.5 * 2.5) / 0.75, rtol=1e-12)
    with pytest.raises(ValueError, match="negative"):
        SingleDot(-0.1, 1.0).lindbladian(0.0)
    with pytest.raises(ValueError, match="num_nuclei"):
        SingleDot(0.1, 1.0, num_nuclei=0.0)
    with pytest.raises(ValueError, match="nuclear_relaxation"):
        SingleDot(0.1, 1.0, nuclear_relaxation=-1.0)
    with pytest.raises(ValueError, match="half-integer"):
        SingleDot(0.1, 1.0, nuclear_spin=0.7)
