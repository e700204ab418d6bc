"""Double dot beyond Fermi's golden rule [Danon11, Eq. (21)-(25)].

The closed forms are transcribed here independently (NumPy). The reading of Eq. (21) (which
level the tunnel coupling t connects to |L⟩) is decided by Eq. (22)-(23).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxspin
from jaxspin.danon11 import DoubleDot, spin_response_single

from .test_nuclear import numpy_correlations


def random_points(seed, size=24):
    rng = np.random.default_rng(seed)
    p = dict(
        detuning=rng.uniform(-5.0, 5.0, size),
        tunnel=rng.uniform(0.05, 3.0, size),
        gamma=rng.uniform(0.1, 3.0, size),
        coupling=rng.uniform(0.1, 3.0, size),
        num_nuclei=rng.uniform(1.0, 50.0, size),
        nuclear_relaxation=np.zeros(size),
    )
    return p, rng.uniform(-5.0, 5.0, size), rng.uniform(-0.5, 0.5, size)


@eqx.filter_jit
@jax.vmap
def numerics(dd, b, k):
    r = dd.response(b)
    return r.rho, dd.pumping_rate(k, b)


def eq22(d, t, g):
    den = 4 * d**2 + 8 * t**2 + g**2
    rho = np.zeros(np.shape(d) + (3, 3), complex)
    rho[..., 0, 0] = (4 * d**2 + 4 * t**2 + g**2) / den
    rho[..., 1, 1] = 4 * t**2 / den
    rho[..., 0, 1] = (4 * d * t + 2j * t * g) / den
    rho[..., 1, 0] = np.conj(rho[..., 0, 1])
    return rho


def eq23(d, t, g, an, b, k):
    num = 4 * an**2 * t**2 * g * (b**2 + 2 * t**2 + g**2) * (0.5 - k)
    bracket = 4 * (b * d - b**2 + t**2) ** 2 + (5 * b**2 - 8 * b * d + 4 * d**2 + 4 * t**2) * g**2
    return num / ((4 * d**2 + 8 * t**2 + g**2) * (bracket + g**4))


def eq25(d, t, g, an, b, k):
    return an**2 * t**2 * g * (0.5 - k) / (d**2 * (4 * (b - d) ** 2 + g**2))


def test_eq22_eq23_at_random_points():
    p, b, k = random_points(1)
    dd = DoubleDot(**p)
    rho, rate = numerics(dd, jnp.asarray(b), jnp.asarray(k))
    d, t, g = p["detuning"], p["tunnel"], p["gamma"]
    an = p["coupling"] / p["num_nuclei"]
    np.testing.assert_allclose(rho, eq22(d, t, g), atol=1e-12)
    ref = eq23(d, t, g, an, b, k)
    np.testing.assert_allclose(rate, ref, rtol=1e-10, atol=1e-13 * np.abs(ref).max())
    cf_rho = jax.vmap(lambda m: m.closed_form_steady_state())(dd)
    cf_rate = jax.vmap(lambda m, b, k: m.closed_form_rate(k, b))(dd, b, k)
    np.testing.assert_allclose(cf_rho, eq22(d, t, g), atol=1e-14)
    np.testing.assert_allclose(cf_rate, ref, rtol=1e-12)


def test_printed_eq21_contradicts_eq22():
    """Eq. (21) as printed couples |L⟩ to |↓⟩. That Hamiltonian (steady state and χ, R
    computed here with plain NumPy) gives ρ_↓ ≠ 0 and ρ_L↑ = 0, against Eq. (22) and the
    text, and a pumping rate far from Eq. (23); the reading t(|L⟩⟨↑| + |↑⟩⟨L|) reproduces
    both, in NumPy and in the package (test above)."""
    d, t, g, b, k = 1.3, 0.7, 0.9, 2.1, 0.1
    jumps = [
        np.sqrt(g) * np.eye(3)[:, [0]] @ np.eye(3)[[1]],
        np.sqrt(g) * np.eye(3)[:, [0]] @ np.eye(3)[[2]],
    ]
    ops = np.asarray(DoubleDot(d, t, g).spin_ops)

    def numpy_rate(H):
        rho, _, C = numpy_correlations(H, jumps, ops)
        chi, R = 2 * C.imag, 2 * C.real
        return rho, 0.25 * (chi[0, 1] - chi[1, 0]) - 0.5 * (R[0, 0] + R[1, 1]) * k

    printed = np.array([[d, 0, t], [0, 0, 0], [t, 0, b]], dtype=complex)  # t|L><↓| + h.c.
    rho, rate = numpy_rate(printed)
    assert rho[2, 2].real > 0.1 and abs(rho[0, 1]) < 1e-14
    assert np.abs(rho - eq22(d, t, g)).max() > 0.1
    assert abs(rate - eq23(d, t, g, 1.0, b, k)) > 0.5 * abs(eq23(d, t, g, 1.0, b, k))
    ours = np.array([[d, t, 0], [t, 0, 0], [0, 0, b]], dtype=complex)  # t|L><↑| + h.c.
    rho, rate = numpy_rate(ours)
    np.testing.assert_allclose(rho, eq22(d, t, g), atol=1e-12)
    np.testing.assert_allclose(rate, eq23(d, t, g, 1.0, b, k), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(DoubleDot(d, t, g).hamiltonian(b)), ours)


def test_golden_rule_limit_and_its_failure():
    """Eq. (25) vs the exact rate. To lowest order in t, exact/FGR = 4d²/(4d² + Γ²) for any
    B_eff (derived from Eq. (23)); so FGR holds for |d| ≫ Γ ≫ t [Danon11, after Eq. (25)],
    fails for |d| ≲ Γ (diverges at d → 0) and for t ≳ Γ (the exact rate saturates)."""
    rng = np.random.default_rng(4)
    size = 24
    g = np.ones(size)
    d = rng.choice([-1, 1], size) * rng.uniform(0.2, 20.0, size)
    d[-8:-3] = [12.0, -14.0, 16.0, -18.0, 20.0]  # well separated levels
    d[-3:] = [0.2, -0.3, 0.4]  # |d| < Γ
    b = rng.uniform(-20.0, 20.0, size)
    b[:6] = d[:6] + rng.uniform(-0.3, 0.3, 6)  # on the resonance B_eff ≈ d
    b[6:9] = rng.uniform(-0.3, 0.3, 3)  # B_eff << Γ
    k = rng.uniform(-0.5, 0.5, size)

    def compare(t):
        dd = DoubleDot(d, t, g, np.ones(size), np.ones(size), np.zeros(size))
        _, exact = numerics(dd, jnp.asarray(b), jnp.asarray(k))
        fgr = jax.vmap(lambda m, b, k: m.golden_rule_rate(k, b))(dd, b, k)
        np.testing.assert_allclose(fgr, eq25(d, t, g, 1.0, b, k), rtol=1e-12)
        return np.asarray(exact), np.asarray(fgr)

    exact, fgr = compare(1e-4 * g)
    np.testing.assert_allclose(exact / fgr, 4 * d**2 / (4 * d**2 + g**2), rtol=1e-6)
    # the paper's limit: well separated levels, weak tunnelling -> FGR within Γ²/(4d²)
    far = np.abs(d) > 10.0
    assert far.sum() >= 5
    assert np.all(np.abs(fgr[far] / exact[far] - 1) < 1.0 / (4 * 10.0**2) + 1e-6)
    # outside: small detuning
    near = np.abs(d) < 0.5
    assert near.sum() >= 1 and np.all(fgr[near] / exact[near] > 2.0)
    # outside: strong tunnelling on resonance, B_eff = d = 5Γ, t = 3Γ
    dd = DoubleDot(5.0, 3.0, 1.0, 1.0, 1.0)
    ratio = dd.golden_rule_rate(0.0, 5.0) / dd.pumping_rate(0.0, 5.0)
    assert ratio > 5.0
    np.testing.assert_allclose(dd.pumping_rate(0.0, 5.0), eq23(5.0, 3.0, 1.0, 1.0, 5.0, 0.0))
    # at d = 0 the exact rate is finite, the golden rule is not
    dd0 = DoubleDot(0.0, 0.1, 1.0, 1.0, 1.0)
    assert np.isfinite(float(dd0.pumping_rate(0.0, 2.0))) and float(dd0.pumping_rate(0.0, 2.0)) > 0
    assert not np.isfinite(float(dd0.golden_rule_rate(0.0, 2.0)))


def test_nonlocal_susceptibility_left_to_right():
    """Two nuclear sites (left, right dot): χ^{zz}_{RL} is the response of the right-dot
    spin to a field on the left-dot spin S_L^z = ½|L⟩⟨L|, i.e. to δd = Λ/2, so
    χ^{zz}_{RL} = ½ ∂⟨S^z_R⟩/∂d = -8 d t² / (4d² + 8t² + Γ²)² by Eq. (22)."""
    d, t, g = 1.7, 0.6, 0.8
    dd = DoubleDot(d, t, g)
    r = spin_response_single(dd.lindbladian(3.0), dd.site_spin_ops)
    np.testing.assert_allclose(
        r.chi[1, 0, 2, 2], -8 * d * t**2 / (4 * d**2 + 8 * t**2 + g**2) ** 2, rtol=1e-10
    )
    np.testing.assert_allclose(r.S[0], [0, 0, 0.5 * eq22(d, t, g)[0, 0].real], atol=1e-14)
    np.testing.assert_allclose(r.chi[1, 1], dd.response(3.0).chi, atol=1e-14)


def test_gradients_match_finite_differences_and_closed_form():
    def rate(x):
        d, t, g, b, A = x
        dd = DoubleDot(d, t, g, coupling=A, num_nuclei=3.0)
        return dd.polarization_rate(0.1, b, solver=jaxspin.DenseLU(unroll_max=0))

    x = jnp.array([1.3, 0.4, 0.9, 2.1, 0.7])
    grad = jax.jit(jax.grad(rate))(x)
    f = jax.jit(rate)
    h = 1e-6
    fd = jnp.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in jnp.eye(5)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9 * jnp.abs(fd).max())
    cf = lambda x: eq23(x[0], x[1], x[2], x[4] / 3.0, x[3] - x[4] * 0.1, 0.1)
    np.testing.assert_allclose(grad, jax.grad(cf)(x), rtol=1e-9)
