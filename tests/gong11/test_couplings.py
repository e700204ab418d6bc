"""Couplings, rates and the diffusion tensor of [Gong11] Eqs. (6), (18)-(25)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import constants as sc

from jaxspin.gong11 import (
    PAPER_PREFACTORS,
    FCCLattice,
    QuantumDot,
    SquareLattice,
    bond_rates,
    diffusion_coefficient,
    diffusion_map,
    diffusion_tensor,
    dipolar,
    effective_coupling,
    flipflop_prefactors,
    flipflop_rate,
    hyperfine,
    neighbourhood,
)

from . import reference as ref


NB = neighbourhood(SquareLattice(), 1.0)
FAR = jnp.array([200.0, 0.0])  # far from the dot: bulk


def test_units_of_the_couplings_against_si():
    dot = QuantumDot(B0_T=0.2)
    # Eq. (6) for an in-plane pair 0.563 nm apart and a pair along z
    for d in ([0.563, 0.0, 0.0], [0.0, 0.0, 0.8], [0.3, 0.4, 0.5]):
        expected = ref.Dot().B_J(np.array(d))[0] / sc.hbar
        np.testing.assert_allclose(dipolar(dot, jnp.array(d)), expected, rtol=1e-9)
    # A_i at the centre is A0 = 1 neV; a z-offset outside the well gives zero
    np.testing.assert_allclose(hyperfine(dot, jnp.zeros(3)), 1e-9 * sc.e / sc.hbar, rtol=1e-9)
    assert float(hyperfine(dot, jnp.array([0.0, 0.0, 5.01]))) == 0.0
    # Eq. (20) against the independent implementation (S_z = 1/2 and 0)
    pi, pk = np.array([3.0, 1.0, 0.0]), np.array([3.563, 1.0, 0.0])
    for s_z in (0.5, 0.0, -0.5):
        d = QuantumDot(B0_T=0.2, s_z=s_z)
        expected = ref.Dot(s_z=s_z).C_J(pi, pk)[0] / sc.hbar
        np.testing.assert_allclose(effective_coupling(d, pi, pk), expected, rtol=1e-9)


def _golden_rule_W(spin, C, sigma):
    """W of Eq. (17) for one pair from explicit matrices: Fermi golden rule with the
    Gaussian line of Eq. (18)'s derivation, rate(s -> s') = |<s'|V|s>|^2 sqrt(2 pi) /
    sqrt(dE^2 + sigma^2) (hbar = 1), between product states of H0 = 4 C Iz_i Iz_k (the
    pair's share of Eq. (11)), V = -C (I_i^+ I_k^- + h.c.) (Eq. (12)); populations
    p(m) = 1/(2I+1) + x m / Tr(Iz^2) (Eq. (16)) linearised in x_i (x_k = 0)."""
    d = int(round(2 * spin + 1))
    m = spin - np.arange(d)
    Ip = np.diag(np.sqrt(spin * (spin + 1) - m[1:] * (m[1:] + 1)), 1)
    V = -C * (np.kron(Ip, Ip.T) + np.kron(Ip.T, Ip))
    mi, mk = np.repeat(m, d), np.tile(m, d)
    E = 4 * C * mi * mk
    tr = np.sum(m**2)
    x = 1e-3
    P = (1 / d + x * mi / tr) * (1 / d)  # x_i = x, x_k = 0
    flow = 0.0
    for s, t in itertools.product(range(d * d), repeat=2):
        if V[t, s] != 0:
            r = V[t, s] ** 2 * math.sqrt(2 * math.pi) / math.sqrt((E[t] - E[s]) ** 2 + sigma**2)
            flow += r * P[s] * (mk[t] - mk[s])
    return flow / x  # d<Iz_k>/dt = W (x_i - x_k)


@pytest.mark.parametrize("spin", [0.5, 1.5, 2.5])
def test_prefactors_of_eq18_from_the_spin_matrix_elements(spin):
    C, sigma = 37.0, 900.0
    dot = QuantumDot(spin=spin, prefactors=flipflop_prefactors(spin), planck="hbar")
    W = flipflop_rate(dot, jnp.array(C), jnp.array(0.0), jnp.array(4 * sigma**2))
    # g = 4 sigma^2 in Eq. (21)'s normalisation (80 = 4 x 20 for I = 3/2)
    np.testing.assert_allclose(W, _golden_rule_W(spin, C, sigma), rtol=1e-9)
    if spin == 1.5:
        np.testing.assert_allclose(flipflop_prefactors(1.5), (17 / 5, 24 / 5, 9 / 5), rtol=1e-12)
        # the paper's first prefactor agrees; the other two are printed halved
        assert PAPER_PREFACTORS[0] == pytest.approx(17 / 5)
        np.testing.assert_allclose(
            np.array(flipflop_prefactors(1.5)[1:]) / np.array(PAPER_PREFACTORS[1:]), 2.0
        )
        assert dot.variance_factor == pytest.approx(80.0)
    with pytest.raises(ValueError, match="half-integer"):
        flipflop_prefactors(0.7)


def test_rate_formula_and_the_planck_reading():
    C, A, g = jnp.array(100.0), jnp.array(300.0), jnp.array(4e5)
    dot_h = QuantumDot()
    dot_hbar = QuantumDot(planck="hbar")
    expected = (
        math.sqrt(2 * math.pi)
        * 100.0**2
        * sum(
            p / math.sqrt(300.0**2 + 64 * n * n * 100.0**2 + 4e5)
            for n, p in enumerate(PAPER_PREFACTORS)
        )
    )
    np.testing.assert_allclose(flipflop_rate(dot_hbar, C, A, g), expected, rtol=1e-12)
    np.testing.assert_allclose(
        flipflop_rate(dot_hbar, C, A, g) / flipflop_rate(dot_h, C, A, g), 2 * math.pi
    )
    # S_z = 0: no Knight shift
    np.testing.assert_allclose(
        flipflop_rate(QuantumDot(s_z=0.0), C, A, g), flipflop_rate(dot_h, C, 0.0 * A, g)
    )
    with pytest.raises(ValueError, match="planck"):
        QuantumDot(planck="hplanck")
    with pytest.raises(ValueError, match="prefactors"):
        QuantumDot(prefactors=(1.0, 1.0, 1.0, 1.0))


@pytest.mark.parametrize(
    "kind, lattice, xy, B0",
    [
        ("square", SquareLattice(), (12.0, 7.0), 0.2),
        ("square", SquareLattice(), (0.0, 0.0), 0.05),
        ("square", SquareLattice(), (25.0, 0.0), 2.0),
        ("fcc", FCCLattice(), (15.0, 10.0), 0.2),
    ],
)
def test_diffusion_tensor_against_independent_implementation(kind, lattice, xy, B0):
    cutoff = 1.0 if kind == "square" else 0.6
    nb = neighbourhood(lattice, cutoff)
    got = diffusion_tensor(QuantumDot(B0_T=B0), nb, jnp.array(xy))
    a = 0.563
    expected = ref.diffusion_tensor(ref.Dot(B0=B0), kind, a, cutoff, xy)
    # 1e-8: jaxspin's constants are CODATA 2018, scipy's the newer CODATA (mu_0 differs
    # by 7e-10, mu_B by 3e-10)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


def test_rates_are_symmetric_between_the_two_ends():
    dot = QuantumDot(B0_T=0.1)
    x_k = jnp.array([7.3 * 0.563, -4 * 0.563, 0.0])
    W = bond_rates(dot, NB, x_k)
    for b, off in enumerate(NB.offsets):
        W_back = bond_rates(dot, NB, x_k + off)[NB.reverse[b]]
        np.testing.assert_allclose(W[b], W_back, rtol=1e-12)


def test_bulk_value_and_cutoff_convergence():
    """Far from the dot D is the dipolar-only bulk value. With the paper's readings on the
    square lattice it is 7.4 nm^2/s at the default 1.0-nm cut-off (the paper: D ≈ 7),
    converging to ~8.5 nm^2/s; the derivation's 1/hbar would give 2 pi times more."""
    dot = QuantumDot()
    bulk = {
        c: float(diffusion_coefficient(dot, neighbourhood(SquareLattice(), c), FAR))
        for c in (1.0, 2.0, 3.0, 4.0)
    }
    assert 6.5 < bulk[1.0] < 8.0
    steps = [abs(bulk[b] - bulk[a]) for a, b in ((1.0, 2.0), (2.0, 3.0), (3.0, 4.0))]
    assert steps[0] > steps[1] > steps[2]
    assert steps[2] < 0.01 * bulk[4.0]
    # bulk is isotropic and independent of B0, A0, S_z
    D = diffusion_tensor(dot, NB, FAR)
    np.testing.assert_allclose(D, bulk[1.0] * np.eye(2), rtol=1e-6, atol=1e-9)
    for other in (QuantumDot(B0_T=2.0), QuantumDot(s_z=0.0), QuantumDot(A0_neV=3.0)):
        np.testing.assert_allclose(diffusion_coefficient(other, NB, FAR), bulk[1.0], rtol=1e-6)
    hbar = diffusion_coefficient(QuantumDot(planck="hbar"), NB, FAR)
    np.testing.assert_allclose(hbar / bulk[1.0], 2 * math.pi, rtol=1e-9)


def test_central_peak_at_low_field_and_wide_dip_at_high_field():
    nb = NB
    bulk = float(diffusion_coefficient(QuantumDot(), nb, FAR))
    r = jnp.linspace(0.0, 60.0, 61)
    pts = jnp.stack([r, 0 * r], axis=1)
    low = diffusion_map(QuantumDot(B0_T=0.2), nb, pts)
    high = diffusion_map(QuantumDot(B0_T=2.0), nb, pts)
    D_low = (low[:, 0, 0] + low[:, 1, 1]) / 2
    D_high = (high[:, 0, 0] + high[:, 1, 1]) / 2
    # 0.2 T: a narrow central peak well above bulk, falling below bulk within l0/2
    assert D_low[0] > 2.5 * bulk
    assert float(jnp.min(D_low[:15])) < bulk
    # 2 T: no peak to speak of; radial diffusion suppressed over a wide ring
    assert D_high[0] < 1.3 * bulk
    radial = high[:, 0, 0]
    assert bool(jnp.all(radial[5:45] < 0.35 * bulk))
    # the dip is a Knight-shift effect: S_z = 0 removes it
    flat = diffusion_map(QuantumDot(B0_T=2.0, s_z=0.0), nb, pts)
    np.testing.assert_allclose(flat[:, 0, 0], bulk, rtol=1e-6)
    # the sign: g_e S_z < 0 makes the electron-mediated term cancel B_ik: a central dip
    opposite = diffusion_coefficient(QuantumDot(B0_T=0.2, g_e=-0.44), nb, jnp.zeros(2))
    assert opposite < bulk


def test_diffusion_map_gradients_and_vmap():
    nb = NB
    xy = jnp.array([10.0, 4.0])

    def D(A0, B0):
        return diffusion_coefficient(QuantumDot(A0_neV=A0, B0_T=B0), nb, xy)

    g = jax.grad(D, argnums=(0, 1))(1.0, 0.2)
    eps = 1e-6
    fd0 = (D(1.0 + eps, 0.2) - D(1.0 - eps, 0.2)) / (2 * eps)
    fd1 = (D(1.0, 0.2 + eps) - D(1.0, 0.2 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, (fd0, fd1), rtol=1e-6)
    # vmap over fields of the dot, and vmap of grad
    B = jnp.array([0.1, 0.2, 2.0])
    batched = jax.vmap(lambda b: D(1.0, b))(B)
    np.testing.assert_allclose(batched, [D(1.0, b) for b in (0.1, 0.2, 2.0)], rtol=1e-12)
    grads = jax.vmap(jax.grad(D, argnums=1), in_axes=(None, 0))(1.0, B)
    assert grads.shape == (3,) and bool(jnp.all(jnp.isfinite(grads)))
    with pytest.raises(ValueError, match="points"):
        diffusion_map(QuantumDot(), nb, jnp.zeros((4, 3)))
