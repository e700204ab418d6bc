"""Spectra, susceptibilities and correlations of Lindblad steady states (jaxspin._spectrum).

References: ``qutip.spectrum`` (exponential series, the same ``⟨A⟩⟨B⟩``-subtracted
convention), ``qutip.correlation_2op_1t`` (mesolve at tight tolerances), a dense complex
solve per ω of the row-major superoperator, finite differences of the steady state for
the static Kubo relation, and jaxspin.danon11's static χ.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import jaxspin
from jaxspin._spectrum import correlation_2op_1t, hessenberg, spectrum, susceptibility

from .helpers import random_lindblad


GAMMA, RABI = 1.0, 5.0


def _mollow(rabi=RABI, detuning=0.0):
    sm = qutip.destroy(2)
    H = rabi / 2 * qutip.sigmax() + detuning * sm.dag() * sm
    return H, [np.sqrt(GAMMA) * sm], sm.dag(), sm


def _jc(N=7):
    a = qutip.tensor(qutip.destroy(N), qutip.qeye(2))
    sm = qutip.tensor(qutip.qeye(N), qutip.destroy(2))
    H = 0.3 * a.dag() * a - 0.2 * sm.dag() * sm + 1.0 * (a.dag() * sm + a * sm.dag())
    H = H + 0.4 * (a + a.dag())
    return H, [np.sqrt(0.8) * a, np.sqrt(0.3) * sm], a.dag(), a


def _dense(*ops):
    return [o.full() for o in ops]


def _rel(x, ref):
    return np.max(np.abs(np.asarray(x) - ref)) / np.max(np.abs(ref))


def test_mollow_triplet_matches_qutip():
    H, c, A, B = _mollow()
    w = np.linspace(-12.0, 12.0, 481)
    S = np.asarray(spectrum(H.full(), _dense(*c), A.full(), B.full(), w))
    ref = qutip.spectrum(H, w, c, A, B)
    assert _rel(S, ref) < 1e-8
    # the three Mollow peaks at 0 and ±Ω (local maxima, to the grid spacing 0.05)
    peaks = w[1:-1][(S[1:-1] > S[:-2]) & (S[1:-1] > S[2:])]
    np.testing.assert_allclose(np.sort(peaks), [-RABI, 0.0, RABI], atol=0.15)
    assert np.all(S > 0)


def test_jaynes_cummings_matches_qutip():
    H, c, A, B = _jc()
    w = np.linspace(-4.0, 4.0, 161)
    S = spectrum(H.full(), _dense(*c), A.full(), B.full(), w)
    ref = qutip.spectrum(H, w, c, A, B)
    assert _rel(S, ref) < 1e-8


def test_matches_dense_solve_per_frequency():
    """Random system, non-Hermitian A, B: S and χ against a dense complex solve of the
    row-major superoperator at each ω (traceless sources, ω ≠ 0)."""
    rng = np.random.default_rng(3)
    n = 4
    H, jumps = random_lindblad(rng, n, k=2)
    A = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    B = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    w = np.array([-3.0, -0.7, 0.4, 2.5])
    L = np.asarray(jaxspin.Lindbladian(H, jumps).superop())
    rho = np.asarray(jaxspin.steadystate(H, jumps).rho)
    vec, tr = lambda x: x.reshape(-1), lambda x: np.trace(x)
    I = np.eye(n * n)
    s_spec = vec(B @ rho - rho * tr(B @ rho))
    s_chi = vec(B @ rho - rho @ B)
    wA = A.T.reshape(-1)  # Tr(A X) = Σ_ij A_ji X_ij
    S_ref = [-2 * np.real(wA @ np.linalg.solve(L - 1j * x * I, s_spec)) for x in w]
    chi_ref = [-1j * wA @ np.linalg.solve(L + 1j * x * I, s_chi) for x in w]
    np.testing.assert_allclose(spectrum(H, jumps, A, B, w), S_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(susceptibility(H, jumps, A, B, w), chi_ref, rtol=1e-10, atol=1e-12)


def test_hessenberg_reduction():
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.normal(size=(7, 7)))
    hh, q = hessenberg(a)
    np.testing.assert_allclose(q @ hh @ q.T, a, atol=1e-13)
    np.testing.assert_allclose(q.T @ q, np.eye(7), atol=1e-14)
    assert np.all(np.tril(np.asarray(hh), -2) == 0)
    # a zero sub-column: no NaN in values or gradients
    z = jnp.diag(jnp.arange(1.0, 5.0))
    g = jax.grad(lambda z: jnp.sum(hessenberg(z)[0] ** 2))(z)
    assert np.all(np.isfinite(g))


def test_correlation_matches_qutip():
    H, c, A, B = _mollow()
    taus = np.linspace(0.0, 4.0, 9)
    opts = {"atol": 1e-13, "rtol": 1e-11}
    ref = qutip.correlation_2op_1t(H, None, taus, c, A, B, options=opts)
    C = correlation_2op_1t(H.full(), _dense(*c), A.full(), B.full(), taus)
    np.testing.assert_allclose(C, ref, rtol=1e-8, atol=1e-9)
    rho0 = qutip.basis(2, 1) * qutip.basis(2, 1).dag()  # excited state
    ref0 = qutip.correlation_2op_1t(H, rho0, taus, c, A, B, options=opts)
    C0 = correlation_2op_1t(H.full(), _dense(*c), A.full(), B.full(), taus, rho0=rho0.full())
    np.testing.assert_allclose(C0, ref0, rtol=1e-8, atol=1e-9)


def test_spectrum_is_transform_of_correlation():
    """S(ω) = 2 Re ∫_0^∞ e^{-iωτ} (C(τ) - ⟨A⟩⟨B⟩) dτ, by quadrature of the exact C(τ)."""
    H, c, A, B = _mollow(rabi=2.0)
    taus = np.linspace(0.0, 30.0, 3001)
    C = np.asarray(correlation_2op_1t(H.full(), _dense(*c), A.full(), B.full(), taus))
    C = C - C[-1]  # the limit ⟨A⟩⟨B⟩ (decayed to e^{-15} by τ = 30/γ)
    w = np.array([0.0, 0.8, 2.0])
    integrand = np.exp(-1j * np.outer(w, taus)) * C
    S_quad = 2 * np.real(np.trapezoid(integrand, taus, axis=1))
    S = spectrum(H.full(), _dense(*c), A.full(), B.full(), w)
    np.testing.assert_allclose(S, S_quad, atol=1e-5)


def test_static_susceptibility_is_linear_response():
    """χ_AB(0) = d⟨A⟩/dh for H → H - h B (finite differences of the steady state) and
    χ_AB(0) = -χ^{AB} of jaxspin.danon11.spin_response (perturbation +Λ S^b)."""
    sx, sy, sz, sp, sm = jaxspin.spin_operators(0.5)
    H = 0.7 * sx + 0.3 * sz
    jumps = [jnp.sqrt(0.4) * sm, jnp.sqrt(0.1) * sz]
    ops = jnp.stack([sx, sy, sz])
    chi = jax.vmap(
        lambda a: jax.vmap(lambda b: susceptibility(H, jumps, a, b, jnp.zeros(1))[0])(ops)
    )(ops)
    h = 1e-5
    fd = []
    for b in ops:
        plus = jaxspin.steadystate(H - h * b, jumps).expect(ops).real
        minus = jaxspin.steadystate(H + h * b, jumps).expect(ops).real
        fd.append((plus - minus) / (2 * h))
    np.testing.assert_allclose(chi, np.array(fd).T, atol=1e-8)
    assert np.max(np.abs(np.imag(chi))) < 1e-12
    danon = jaxspin.danon11.spin_response(H, jumps, ops).chi
    np.testing.assert_allclose(chi, -danon, atol=1e-12)


def test_grad_matches_finite_differences():
    sm = jnp.asarray(qutip.destroy(2).full())
    sx = jnp.asarray(qutip.sigmax().full())

    def S(rabi, w0=4.2):
        return spectrum(rabi / 2 * sx, [sm], sm.T, sm, jnp.array([w0]))[0]

    g = jax.grad(S)(RABI)
    h = 1e-5
    fd = (S(RABI + h) - S(RABI - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_grad_at_symmetric_point():
    """JC with the cavity detuning at 0: the superoperator is derogatory there, and autodiff
    through the Householder steps was wrong by ~1e6; the resolvent JVP is exact (forward
    and reverse mode, and the ω tangent of χ)."""
    N = 5
    a = jnp.asarray(qutip.tensor(qutip.destroy(N), qutip.qeye(2)).full())
    sm = jnp.asarray(qutip.tensor(qutip.qeye(N), qutip.destroy(2)).full())
    jumps = [jnp.sqrt(0.8) * a, jnp.sqrt(0.3) * sm]

    def H(dc):
        return dc.astype(a.dtype) * a.T @ a + (a.T @ sm + a @ sm.T) + 0.4 * (a + a.T)

    def S(dc):
        return spectrum(H(dc), jumps, a.T, a, jnp.array([0.5]))[0]

    h, zero = 1e-5, jnp.asarray(0.0)
    fd = (S(zero + h) - S(zero - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(S)(zero), fd, rtol=1e-6)
    np.testing.assert_allclose(jax.jacfwd(S)(zero), fd, rtol=1e-6)

    def chi(w):
        return susceptibility(H(zero), jumps, a.T @ a, a + a.T, w[None])[0]

    w0 = jnp.asarray(0.7)
    fd_w = (chi(w0 + h) - chi(w0 - h)) / (2 * h)
    assert abs(fd_w) > 1e-2
    np.testing.assert_allclose(jax.jacfwd(chi)(w0), fd_w, rtol=1e-6)
    np.testing.assert_allclose(jax.grad(lambda w: chi(w).real)(w0), fd_w.real, rtol=1e-6)


def test_batched_and_jit():
    H, c, A, B = _mollow()
    rabis = jnp.array([1.0, 3.0, 5.0])
    sx, sm = jnp.asarray(qutip.sigmax().full()), jnp.asarray(c[0].full())
    Hs = (rabis[:, None, None] / 2).astype(sx.dtype) * sx
    w = jnp.linspace(-8.0, 8.0, 17)
    S = spectrum(Hs, [sm], A.full(), B.full(), w)
    assert S.shape == (3, 17)
    one = jax.jit(lambda r: spectrum((r / 2).astype(sx.dtype) * sx, [sm], sm.T, sm, w))
    np.testing.assert_allclose(S, jax.vmap(one)(rabis), rtol=1e-12, atol=1e-14)
    for k, r in enumerate(rabis):
        Hq = float(r) / 2 * qutip.sigmax()
        assert _rel(S[k], qutip.spectrum(Hq, np.asarray(w), c, A, B)) < 1e-8


def test_bad_input():
    H, c, A, B = _mollow()
    Hd, cd = H.full(), _dense(*c)
    with pytest.raises(ValueError, match="`A` must have shape"):
        spectrum(Hd, cd, np.eye(3), B.full(), [0.0])
    with pytest.raises(ValueError, match="`omegas` must be a non-empty 1-D"):
        spectrum(Hd, cd, A.full(), B.full(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`omegas` contains NaN"):
        susceptibility(Hd, cd, A.full(), B.full(), [0.0, np.nan])
    with pytest.raises(ValueError, match="`taus` must be finite >= 0"):
        correlation_2op_1t(Hd, cd, A.full(), B.full(), [-1.0, 0.0])
    with pytest.raises(ValueError, match="`rho0` must have shape"):
        correlation_2op_1t(Hd, cd, A.full(), B.full(), [0.0], rho0=np.eye(3))
    with pytest.raises(ValueError, match="not Hermitian"):
        spectrum(Hd + np.triu(np.ones((2, 2)), 1), cd, A.full(), B.full(), [0.0])
