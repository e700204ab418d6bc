"""S, χ, R of Lindbladians [Danon11, Eq. (3), (10), IMPLEMENTATION].

Independent references: QuTiP time-domain correlation functions integrated over τ (signs
and normalisation of Eq. (3)), the Kubo definition χ^{ab} = ∂⟨S^a⟩/∂Λ_b for H + Λ S^b
(derivative of the steady state alone), finite differences for gradients, and Onsager's
reciprocity for electrons in thermal equilibrium.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
import scipy.linalg

import jaxspin
from jaxspin.danon11 import SingleDot, spin_response, spin_response_single

from ..helpers import random_hermitian, random_lindblad


# LAPACK LU for the 4-level problems: compiles several times faster than the unrolled LU
# (which the engine's own tests cover, and the model tests use at n = 2, 3).
LAPACK = jaxspin.DenseLU(unroll_max=0)


def _random_problem(seed, n=4, sites=1):
    rng = np.random.default_rng(seed)
    H, jumps = random_lindblad(rng, n, k=2)
    ops = np.stack([random_hermitian(rng, n) for _ in range(3 * sites)])
    if sites > 1:
        ops = ops.reshape(sites, 3, n, n)
    return H, jumps, ops


def _gauss_legendre_grid(t_max, panel, order=12):
    """Nodes and weights of composite Gauss-Legendre quadrature on [0, t_max]."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.arange(0.0, t_max + panel, panel)
    nodes = ((edges[:-1, None] + edges[1:, None]) / 2 + (panel / 2) * x[None, :]).ravel()
    weights = np.broadcast_to((panel / 2) * w, (edges.size - 1, order)).ravel()
    return nodes, weights


def test_matches_qutip_time_domain_correlations():
    """χ^{ab} = -i∫<[S^a(τ), S^b]>_c dτ and R^{ab} = ∫<[S^a(τ), S^b]_+>_c dτ from QuTiP's
    correlation_2op_1t (quantum regression), integrated by composite Gauss-Legendre."""
    H, jumps, ops = _random_problem(11)
    Hq = qutip.Qobj(H)
    cq = [qutip.Qobj(c) for c in jumps]
    Sq = [qutip.Qobj(o) for o in ops]
    # slowest decay rate of the Liouvillian -> integration range (tail below e^-36)
    ev = np.linalg.eigvals(qutip.liouvillian(Hq, cq).full())
    gap = np.min(-ev.real[np.abs(ev) > 1e-9])
    nodes, weights = _gauss_legendre_grid(36.0 / gap, panel=0.5)
    taus = np.concatenate([[0.0], nodes])
    rho = qutip.steadystate(Hq, cq)
    mean = np.array([qutip.expect(s, rho) for s in Sq])
    opts = {"atol": 1e-13, "rtol": 1e-11, "nsteps": 100_000}
    chi_ref = np.zeros((3, 3))
    R_ref = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            c = qutip.correlation_2op_1t(Hq, None, taus, cq, Sq[a], Sq[b], options=opts)[1:]
            # <[A(τ),B]> = 2i Im C, <[A(τ),B]_+> = 2 Re C for Hermitian A, B
            chi_ref[a, b] = np.sum(weights * 2 * c.imag)
            R_ref[a, b] = np.sum(weights * (2 * c.real - 2 * mean[a] * mean[b]))
    r = spin_response(H, jumps, ops, solver=LAPACK)
    assert bool(r.result == jaxspin.RESULTS.successful)
    np.testing.assert_allclose(r.S, mean, atol=1e-10)
    scale = max(np.abs(chi_ref).max(), np.abs(R_ref).max())
    np.testing.assert_allclose(r.chi, chi_ref, atol=1e-7 * scale, rtol=0)
    np.testing.assert_allclose(r.R, R_ref, atol=1e-7 * scale, rtol=0)
    # one-sided integrals: neither χ nor R is symmetric for a driven system
    assert np.abs(r.chi - r.chi.T).max() > 1e-3 * scale
    assert np.abs(r.R - r.R.T).max() > 1e-3 * scale


def test_chi_is_static_kubo_response_and_sites_are_nonlocal():
    """χ^{ab}_{nm} = ∂⟨S^a_n⟩/∂Λ for H → H + Λ S^b_m [Eq. (10)], from the derivative of the
    steady state alone (no response solve), for two sites."""
    H, jumps, ops = _random_problem(5, n=4, sites=2)
    r = spin_response(H, jumps, ops, solver=LAPACK)
    assert r.S.shape == (2, 3) and r.chi.shape == (2, 2, 3, 3) and r.R.shape == (2, 2, 3, 3)

    def mean_spin(lam):  # lam: (2, 3) fields on the two sites
        Hl = jnp.asarray(H) + jnp.einsum("mb,mbij->ij", lam.astype(complex), jnp.asarray(ops))
        rho = jaxspin.steadystate(Hl, jumps, solver=LAPACK).rho
        return jnp.real(jnp.einsum("nbij,ji->nb", jnp.asarray(ops), rho))

    jac = jax.jacfwd(mean_spin)(jnp.zeros((2, 3)))  # [n, a, m, b]
    np.testing.assert_allclose(r.chi, jnp.transpose(jac, (0, 2, 1, 3)), atol=1e-11)
    np.testing.assert_allclose(r.S, mean_spin(jnp.zeros((2, 3))), atol=1e-12)
    # one site = diagonal block of the two-site result
    single = spin_response(H, jumps, ops[1], solver=LAPACK)
    np.testing.assert_allclose(single.chi, r.chi[1, 1], atol=1e-13)
    np.testing.assert_allclose(single.R, r.R[1, 1], atol=1e-13)


def test_batched_equals_single_and_vmap_of_vmap():
    dot = SingleDot(0.3, 1.2)
    b = jnp.linspace(-2.0, 2.0, 6).reshape(2, 3)
    H = -b[..., None, None].astype(complex) * dot.spin_ops[2]
    rates = dot.lindbladian(0.0).rates
    # the public batched function, here inside jit with the operators closed over
    batched = jax.jit(lambda H: spin_response(H, None, dot.spin_ops, rates=rates))(H)
    assert batched.chi.shape == (2, 3, 3, 3) and batched.rho.shape == (2, 3, 2, 2)

    def chi_xy(bb):
        r = spin_response_single(dot.lindbladian(bb), dot.spin_ops)
        return r.chi[0, 1], r

    # vmap of vmap of (value and grad): one compiled function for values, gradients and
    # the finite differences
    vv = jax.jit(jax.vmap(jax.vmap(jax.value_and_grad(chi_xy, has_aux=True))))
    (_, out), g = vv(b)
    for field in ("rho", "S", "chi", "R"):
        np.testing.assert_allclose(getattr(out, field), getattr(batched, field), atol=1e-14)
    fd = (vv(b + 1e-6)[0][0] - vv(b - 1e-6)[0][0]) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_gradients_match_finite_differences():
    """d(S, χ, R)/dθ for H(θ) = H0 + θ H1 and a jump rate, against central differences."""
    rng = np.random.default_rng(3)
    H0, jumps, ops = _random_problem(21, n=3)
    H1 = random_hermitian(rng, 3)

    @jax.jit
    def outputs(theta):
        th, g = theta
        H = jnp.asarray(H0) + th.astype(complex) * jnp.asarray(H1)
        c = [jnp.sqrt(g).astype(complex) * jnp.asarray(jumps[0]), jnp.asarray(jumps[1])]
        r = spin_response_single(jaxspin.Lindbladian(H, c), ops, solver=LAPACK)
        return jnp.concatenate([r.S, r.chi.ravel(), r.R.ravel()])

    theta = jnp.array([0.3, 1.1])
    jac = jax.jit(jax.jacrev(outputs))(theta)
    h = 1e-5
    fd = jnp.stack(
        [(outputs(theta + h * e) - outputs(theta - h * e)) / (2 * h) for e in jnp.eye(2)], axis=1
    )
    scale = jnp.max(jnp.abs(fd))
    np.testing.assert_allclose(jac, fd, atol=1e-7 * scale)


def test_bad_input_is_refused():
    H, jumps, ops = _random_problem(1)
    with pytest.raises(ValueError, match="spin_ops"):
        spin_response(H, jumps, ops[:2])
    with pytest.raises(ValueError, match="not Hermitian"):
        spin_response(H, jumps, ops + 1j * np.triu(np.ones((4, 4)), 1))
    with pytest.raises(ValueError, match="dimension"):
        spin_response(H, jumps, ops[:, :3, :3])
    with pytest.raises(ValueError, match="required"):
        spin_response(H, jumps)
    with pytest.raises(ValueError, match="negative"):
        spin_response(H[:2, :2], None, SingleDot(0.1, 0.2).spin_ops, rates=-np.ones((2, 2)))
    # no dissipation: the steady state is not unique, reported as data with throw=False
    dot = SingleDot(0.0, 0.0)
    r = spin_response(-np.diag([0.5, -0.5]), None, dot.spin_ops, throw=False)
    assert bool(r.result == jaxspin.RESULTS.singular)


# ---------------------------------------------------------------------------------------
# Onsager: electrons in thermal equilibrium (detailed balance, no drive)
# ---------------------------------------------------------------------------------------
_SIGMA = [
    np.array([[0, 1], [1, 0]]) / 2,
    np.array([[0, -1j], [1j, 0]]) / 2,
    np.diag([0.5, -0.5]),
]


def _time_reversal_model(seed, n_orb=3, spin_orbit=1.0):
    """Orbital levels ⊗ spin 1/2 with a time-reversal-invariant H (real orbital part plus
    spin-orbit i A_k ⊗ σ_k, A_k real antisymmetric; Θ = K ⊗ iσ_y) and T-even couplings to a
    bath, X ⊗ 1. Returns (H_T, couplings, spin operators, Zeeman operator)."""
    rng = np.random.default_rng(seed)
    sym = lambda: (lambda a: a + a.T)(rng.normal(size=(n_orb, n_orb)))
    anti = lambda: (lambda a: a - a.T)(rng.normal(size=(n_orb, n_orb)))
    H = np.kron(sym(), np.eye(2)) + sum(1j * spin_orbit * np.kron(anti(), s) for s in _SIGMA)
    couplings = [np.kron(sym(), np.eye(2)) for _ in range(2)]
    spins = np.stack([np.kron(np.eye(n_orb), s) for s in _SIGMA])
    zeeman = spins[2] + 0.3 * spins[0]
    return H, couplings, spins, zeeman


def _davies_jumps(H, couplings, beta):
    """Davies (weak-coupling) generator: jumps P_E' X P_E between eigenspaces of H at rates
    γ(ω) ∝ exp(-βω/2), ω = E' - E: detailed balance γ(ω)/γ(-ω) = exp(-βω)."""
    E, V = np.linalg.eigh(H)
    groups = []
    for i, e in enumerate(E):
        if groups and abs(e - E[groups[-1][0]]) < 1e-9:
            groups[-1].append(i)
        else:
            groups.append([i])
    P = [V[:, g] @ V[:, g].conj().T for g in groups]
    Eg = [E[g[0]] for g in groups]
    jumps = [
        math.sqrt(math.exp(-beta * (Eg[j] - Eg[i]) / 2)) * P[j] @ X @ P[i]
        for X in couplings
        for i in range(len(P))
        for j in range(len(P))
    ]
    # pad with zero operators to one fixed count (one compilation for every field)
    n = H.shape[0]
    return jumps + [np.zeros((n, n))] * (len(couplings) * n * n - len(jumps))


def test_onsager_equilibrium_electrons_give_symmetric_chi_and_no_pumping():
    """Thermal equilibrium at zero field: χ^{ab} = χ^{ba} and P = 0 [Danon11, after Eq. (3)];
    at finite field the Onsager-Casimir form χ^{ab}(B) = χ^{ba}(-B) holds, while χ itself is
    not symmetric (the paper's statement needs B = 0). A driven system breaks both."""
    from jaxspin.danon11 import nuclear_coefficients

    beta = 0.7
    H, couplings, spins, zeeman = _time_reversal_model(3)

    def response(Hm):
        r = spin_response(Hm, _davies_jumps(Hm, couplings, beta), spins)
        assert bool(r.result == jaxspin.RESULTS.successful)
        gibbs = scipy.linalg.expm(-beta * Hm)
        np.testing.assert_allclose(r.rho, gibbs / np.trace(gibbs), atol=1e-12)
        return r

    r0 = response(H)
    scale = np.abs(r0.chi).max()
    np.testing.assert_allclose(r0.chi, r0.chi.T, atol=1e-9 * scale)
    P = nuclear_coefficients(r0, 0.1, 0.5).P
    np.testing.assert_allclose(P, 0.0, atol=1e-9 * 0.01 * scale)

    rp, rm = response(H + 0.8 * zeeman), response(H - 0.8 * zeeman)
    scale = np.abs(rp.chi).max()
    np.testing.assert_allclose(rp.chi, rm.chi.T, atol=1e-10 * scale)
    assert np.abs(rp.chi - rp.chi.T).max() > 0.1 * scale

    # driven: spin-selective tunnelling (Γ_↑ ≠ Γ_↓) pumps even at zero field
    dot = SingleDot(0.2, 1.0)
    rd = dot.response(0.0)
    assert abs(rd.chi[0, 1] - rd.chi[1, 0]) > 0.5
    assert abs(nuclear_coefficients(rd, 0.1, 0.5).P[2]) > 1e-3
