"""Nuclear equation of motion [Danon11, Eq. (1), (2), (6), (8), (9)].

Reference: Eq. (6), the second-order master equation of the nuclear density matrix, is
implemented here directly in NumPy with the one-sided correlation integrals
C^{ab}_{nm} = ∫_0^∞ ⟨S^a_n(τ) S^b_m(0)⟩_c dτ computed from an independently written
(column-stacking) Liouvillian; d⟨K⟩/dt = Tr(K dρ_k/dt) must equal Eq. (1)-(2) (and Eq. (9))
exactly where the paper says the reduction is exact: K = 1/2, or any K for a nuclear state
linear in K (then ⟨[K^c, K^d]_+⟩ = ⅔ δ^{cd} K(K+1) holds exactly).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
from jaxspin.danon11 import nuclear_coefficients, nuclear_rate, spin_response

from ..helpers import random_hermitian, random_lindblad


LAPACK = jaxspin.DenseLU(unroll_max=0)


def numpy_correlations(H, jumps, ops):
    """Steady state, means and C[a, b] = ∫_0^∞ (⟨A_a(τ) A_b⟩ - ⟨A_a⟩⟨A_b⟩) dτ (NumPy)."""
    n = H.shape[0]
    eye = np.eye(n)
    L = -1j * (np.kron(eye, H) - np.kron(H.T, eye))  # vec(A X B) = (Bᵀ ⊗ A) vec(X)
    for c in jumps:
        cdc = c.conj().T @ c
        L += np.kron(c.conj(), c) - 0.5 * np.kron(eye, cdc) - 0.5 * np.kron(cdc.T, eye)
    vec = lambda X: X.reshape(-1, order="F")
    unvec = lambda x: x.reshape(n, n, order="F")
    trace_row = vec(eye)[None, :]
    aug = np.vstack([L, trace_row])
    rho = unvec(np.linalg.lstsq(aug, np.r_[np.zeros(n * n), 1.0], rcond=None)[0])
    mean = np.array([np.trace(A @ rho) for A in ops])
    C = np.zeros((len(ops), len(ops)), complex)
    for b, B in enumerate(ops):
        src = vec(B @ rho - mean[b] * rho)
        X = unvec(np.linalg.lstsq(aug, np.r_[-src, 0.0], rcond=None)[0])
        C[:, b] = [np.trace(A @ X) for A in ops]
    return rho, mean.real, C


def eq6_rate(a, mean, C, K_ops, rho_k):
    """d⟨K^a_n⟩/dt = Tr(K^a_n dρ_k/dt) with dρ_k/dt from Eq. (6).

    a: (p,) couplings; mean: (p, 3); C: (p, 3, p, 3); K_ops: (p, 3, d, d) nuclear operators
    on the full nuclear space; rho_k: (d, d)."""
    p = len(a)
    comm = lambda X, Y: X @ Y - Y @ X
    drho = np.zeros(rho_k.shape, complex)
    for n in range(p):
        for i in range(3):
            drho += -1j * a[n] * mean[n, i] * comm(K_ops[n, i], rho_k)
            for m in range(p):
                for j in range(3):
                    c = a[n] * a[m] * C[n, i, m, j]
                    drho -= c * comm(K_ops[n, i], K_ops[m, j] @ rho_k)
                    drho -= -np.conj(c) * comm(K_ops[n, i], rho_k @ K_ops[m, j])
    return np.array([[np.trace(K_ops[n, i] @ drho).real for i in range(3)] for n in range(p)])


def _random_electrons(seed, n=3, sites=1):
    rng = np.random.default_rng(seed)
    H, jumps = random_lindblad(rng, n, k=2)
    ops = np.stack([random_hermitian(rng, n) for _ in range(3 * sites)])
    return rng, H, jumps, ops


def _spin_matrices(K):
    sx, sy, sz, _, _ = jaxspin.spin_operators(K)
    return np.asarray(np.stack([sx, sy, sz]))


@pytest.mark.parametrize("K", [0.5, 1.5])
def test_eq1_equals_eq6(K):
    """Eq. (1)-(2) with the numerical χ and R = Eq. (6) traced with K, for K = 1/2 with any
    nuclear state and for K = 3/2 with a state linear in K; the electrons are a random
    driven 3-level Lindbladian."""
    rng, H, jumps, ops = _random_electrons(2)
    _, mean, C = numpy_correlations(H, jumps, ops)
    resp = spin_response(H, jumps, ops, solver=LAPACK)
    # the response and the NumPy integrals agree: C = (R + iχ)/2
    np.testing.assert_allclose(resp.chi, 2 * C.imag, atol=1e-10)
    np.testing.assert_allclose(resp.R, 2 * C.real, atol=1e-10)

    Kops = _spin_matrices(K)
    d = Kops.shape[-1]
    if K == 0.5:
        rho_k = random_hermitian(rng, 2) + 3 * np.eye(2)
        rho_k = rho_k @ rho_k  # positive
    else:
        n_vec = rng.normal(size=3)
        rho_k = np.eye(d) + 0.3 * np.einsum("a,aij->ij", n_vec / np.linalg.norm(n_vec), Kops)
    rho_k = rho_k / np.trace(rho_k)
    k_mean = np.einsum("aij,ji->a", Kops, rho_k).real
    a = 0.37
    ref = eq6_rate([a], mean[None], C.reshape(1, 3, 1, 3), Kops[None], rho_k)[0]
    got = nuclear_rate(resp, k_mean, coupling=a, nuclear_spin=K)
    np.testing.assert_allclose(got, ref, atol=1e-12 * np.abs(ref).max())

    # Eq. (8) written out for K = 1/2: (a²/2)(R^{ba}K^b - R^{bb}K^a + ½ ε^{abc} χ^{bc})
    if K == 0.5:
        R, chi = np.asarray(resp.R), np.asarray(resp.chi)
        eps = np.zeros((3, 3, 3))
        for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
            eps[i, j, k], eps[i, k, j] = 1, -1
        eq8 = (a**2 / 2) * (
            R.T @ k_mean - np.trace(R) * k_mean + 0.5 * np.einsum("abc,bc->a", eps, chi)
        )
        eq7 = np.cross(a * mean, k_mean)
        np.testing.assert_allclose(got, eq7 + eq8, atol=1e-14)


def test_eq1_needs_small_quadrupolar_deviation_for_K_above_half():
    """For K = 3/2 a quadrupolar nuclear state (⟨K_z²⟩ ≠ K(K+1)/3) makes Eq. (6) differ from
    Eq. (1) — the paper's assumption (ii) is real, and the test above could fail."""
    rng, H, jumps, ops = _random_electrons(2)
    _, mean, C = numpy_correlations(H, jumps, ops)
    resp = spin_response(H, jumps, ops, solver=LAPACK)
    Kops = _spin_matrices(1.5)
    rho_k = np.diag([0.4, 0.1, 0.1, 0.4])  # <K> = 0, aligned (quadrupolar) state
    ref = eq6_rate([0.37], mean[None], C.reshape(1, 3, 1, 3), Kops[None], rho_k)[0]
    got = nuclear_rate(resp, np.zeros(3), coupling=0.37, nuclear_spin=1.5)
    assert np.abs(got - ref).max() > 1e-3 * np.abs(ref).max()


def test_two_sites_eq9_equals_eq6_for_product_states():
    """Two nuclei (K = 1/2) at two sites with their own electron operators and couplings:
    Eq. (1) per site plus the electron-mediated coupling of Eq. (9) (mean-field form) equals
    Eq. (6) with the double sum over n, m, exactly for a product nuclear state."""
    rng, H, jumps, ops = _random_electrons(8, sites=2)
    _, mean, C = numpy_correlations(H, jumps, ops)
    resp = spin_response(H, jumps, ops.reshape(2, 3, 3, 3), solver=LAPACK)
    k = _spin_matrices(0.5)
    Kops = np.stack(
        [np.stack([np.kron(s, np.eye(2)) for s in k]), np.stack([np.kron(np.eye(2), s) for s in k])]
    )
    rhos = []
    for _ in range(2):
        r = random_hermitian(rng, 2) + 2.5 * np.eye(2)
        rhos.append(r @ r / np.trace(r @ r))
    rho_k = np.kron(rhos[0], rhos[1])
    k_mean = np.einsum("naij,ji->na", Kops, rho_k).real
    a = np.array([0.37, -0.21])
    ref = eq6_rate(a, mean.reshape(2, 3), C.reshape(2, 3, 2, 3), Kops, rho_k)
    got = nuclear_rate(resp, k_mean, coupling=a)
    np.testing.assert_allclose(got, ref, atol=1e-12 * np.abs(ref).max())
    coeffs = nuclear_coefficients(resp, a)
    assert np.abs(coeffs.J).max() > 1e-3  # the inter-site term is not negligible here


def test_internuclear_term_is_the_overhauser_field_of_the_other_nucleus():
    """S_n → S_n + a_n Σ_m a_m χ_nm ⟨K_m⟩ [text after Eq. (10)] is the first-order change of
    a_n⟨S_n⟩ when a_m ⟨K_m⟩·S_m is added to the electron Hamiltonian (steady states only)."""
    _, H, jumps, ops = _random_electrons(4, sites=2)
    ops = ops.reshape(2, 3, 3, 3)
    a = jnp.array([0.5, 0.8])
    resp = spin_response(H, jumps, ops, solver=LAPACK)
    coeffs = nuclear_coefficients(resp, a)

    def S_eff(k_other):  # precession vector of nucleus 0 with nucleus 1's field in H
        field = a[1] * k_other
        Hk = jnp.asarray(H) + jnp.einsum("b,bij->ij", field.astype(complex), jnp.asarray(ops[1]))
        rho = jaxspin.steadystate(Hk, jumps, solver=LAPACK).rho
        return a[0] * jnp.real(jnp.einsum("bij,ji->b", jnp.asarray(ops[0]), rho))

    jac = jax.jacfwd(S_eff)(jnp.zeros(3))
    np.testing.assert_allclose(coeffs.J[0, 1], jac, atol=1e-12)
    np.testing.assert_allclose(coeffs.J[0, 0], 0.0)
    np.testing.assert_allclose(coeffs.S[0], S_eff(jnp.zeros(3)), atol=1e-13)


def test_bad_arguments():
    _, H, jumps, ops = _random_electrons(1)
    resp = spin_response(H, jumps, ops, solver=LAPACK)
    with pytest.raises(ValueError, match="half-integer"):
        nuclear_rate(resp, np.zeros(3), coupling=0.1, nuclear_spin=0.7)
    with pytest.raises(ValueError, match="k_mean"):
        nuclear_rate(resp, np.zeros(2), coupling=0.1)
    with pytest.raises(ValueError, match="scalar"):
        nuclear_rate(resp, np.zeros(3), coupling=np.ones(2))
