"""[DeLuca16] model, sector diagonalization and rates against a brute-force construction.

The brute force below is written independently of jaxspin: NumPy Kronecker products in the
full 2^(N+1) space, one dense ``eigh`` of the laboratory-frame Hamiltonian Eq. (9), and the
rates of Eqs. (12) and (16) from the complex ``S^x``, ``S^y``, ``S^z`` matrices.
"""

import math

import jax
import numpy as np
import pytest
import scipy.constants as sc

import jaxspin
import jaxspin.deluca16 as dl
from jaxspin.deluca16._ed import diagonalize
from jaxspin.deluca16._rates import matrix_elements, rate_blocks


SX = np.array([[0, 0.5], [0.5, 0]], dtype=complex)
SY = np.array([[0, -0.5j], [0.5j, 0]])
SZ = np.diag([0.5, -0.5]).astype(complex)
SP = np.array([[0, 1.0], [0, 0]], dtype=complex)


def op(o, i, n):
    mats = [np.eye(2, dtype=complex)] * n
    mats[i] = o
    out = mats[0]
    for m in mats[1:]:
        out = np.kron(out, m)
    return out


def brute_force(delta, U, D, par):
    """Sorted (M, E) lab-frame spectrum, M, and the dense rate matrix W[j, i] (i -> j)."""
    N = len(delta)
    n = N + 1
    H = -par["omega_n"] * op(SZ, N, n) + sum(D[i] * op(SZ, i, n) @ op(SX, N, n) for i in range(N))
    for i in range(N):
        H = H + (par["omega_e"] + delta[i]) * op(SZ, i, n)
        for j in range(i + 1, N):
            f = op(SP, i, n) @ op(SP.T, j, n)
            H = H + U[i, j] * (f + f.conj().T)
    E, V = np.linalg.eigh(H)
    Sz_tot = sum(op(SZ, i, n) for i in range(N))
    M = np.round(np.real(np.einsum("an,ab,bn->n", V.conj(), Sz_tot, V)) * 2) / 2
    order = np.lexsort((E, M))
    E, V, M = E[order], V[:, order], M[order]
    me = lambda A: V.conj().T @ A @ V
    bath = sum(np.abs(me(op(S, i, n))) ** 2 for i in range(N) for S in (SX, SY, SZ))
    sx = np.abs(me(sum(op(SX, i, n) for i in range(N)))) ** 2
    h = lambda x: np.exp(par["beta"] * x) / (1 + np.exp(par["beta"] * x))
    dE = E[:, None] - E[None, :]  # [j, i]: E_j - E_i
    W = 2 / par["T1e"] * h(-dE) * bath
    W += (
        4
        * par["omega_1"] ** 2
        * par["T2e"]
        * sx
        / (1 + par["T2e"] ** 2 * (np.abs(dE) - par["omega_mw"]) ** 2)
    )
    np.fill_diagonal(W, 0.0)
    return E, M, W


def par_dict(p):
    return {
        f: float(getattr(p, f))
        for f in ("omega_e", "omega_n", "omega_1", "omega_mw", "T1e", "T2e", "beta")
    }


def test_table1_units():
    p = dl.table1(U_mhz=15.0, D_mhz=0.05)
    np.testing.assert_allclose(p.omega_e, 2 * math.pi * 93.9e3)  # rad/µs
    np.testing.assert_allclose(p.delta_omega_e, 2 * math.pi * 54.0)
    np.testing.assert_allclose(p.omega_n, 2 * math.pi * 20.0)
    np.testing.assert_allclose(p.omega_1, 2 * math.pi * 0.025)
    np.testing.assert_allclose(p.T1e, 1e6)
    np.testing.assert_allclose(p.T2e, 1.0)
    np.testing.assert_allclose(p.beta, sc.hbar / (sc.k * 0.83) * 1e6, rtol=1e-9)
    # 93.9 GHz at 3.35 T is the free-electron Larmor frequency (g ≈ 2.0023) to 0.1 %
    np.testing.assert_allclose(jaxspin.constants.electron_larmor(3.35) * 1e-6, p.omega_e, rtol=2e-3)
    p2 = dl.table1(B_tesla=6.7)
    np.testing.assert_allclose(p2.omega_e / p.omega_e, 2.0)
    np.testing.assert_allclose(p2.delta_omega_e / p.delta_omega_e, 2.0)
    np.testing.assert_allclose(p2.beta, p.beta)


def test_disorder_statistics():
    p = dl.table1(U_mhz=15.0, D_mhz=0.3)
    n = 6
    models = dl.random_models(jax.random.PRNGKey(0), n, 4000, p)
    U = np.asarray(models.U)
    np.testing.assert_array_equal(U, np.swapaxes(U, -1, -2))
    np.testing.assert_array_equal(np.diagonal(U, axis1=-2, axis2=-1), 0.0)
    iu = np.triu_indices(n, 1)
    var_u = U[:, iu[0], iu[1]].var()
    np.testing.assert_allclose(var_u, float(p.U) ** 2 / n, rtol=0.03)
    np.testing.assert_allclose(np.asarray(models.D).var(), float(p.D) ** 2 / n, rtol=0.03)
    np.testing.assert_allclose(
        models.delta[0], float(p.delta_omega_e) * np.linspace(-1, 1, n), rtol=1e-14
    )
    with pytest.raises(ValueError, match="shapes"):
        dl.DeLucaModel(np.zeros(3), np.zeros((2, 2)), np.zeros(3), p)


@pytest.mark.parametrize("n_spins", [2, 5])
def test_spectrum_and_rates_equal_brute_force(n_spins):
    par = dl.table1(U_mhz=15.0, D_mhz=2.0, mw_offset_mhz=-10.0)
    model = dl.random_model(jax.random.PRNGKey(n_spins), n_spins, par)
    spec = diagonalize(model)
    rates = rate_blocks(model, spec, matrix_elements(spec, n_spins))
    E, M, W = brute_force(
        np.asarray(model.delta), np.asarray(model.U), np.asarray(model.D), par_dict(par)
    )
    dims = [2 * math.comb(n_spins, k) for k in range(n_spins + 1)]
    assert tuple(rates.sizes) == tuple(dims)
    ours_M = np.concatenate([np.full(d, k - n_spins / 2) for k, d in enumerate(dims)])
    np.testing.assert_array_equal(M, ours_M)
    ours_E = np.concatenate(spec.energies) + float(par.omega_e) * ours_M
    np.testing.assert_allclose(ours_E, E, rtol=0, atol=1e-9 * float(par.omega_e))
    # rotating-frame energies are exact to far better than the lab-frame brute force
    W_ours = np.array(rates.dense())
    np.fill_diagonal(W_ours, 0.0)
    scale = np.max(W)
    np.testing.assert_allclose(W_ours, W, rtol=1e-5, atol=1e-9 * scale)
    # transitions change M by 0 or ±1 only (brute force: rounding-level entries elsewhere)
    assert np.all(W[np.abs(M[:, None] - M[None, :]) > 1] < 1e-25 * scale)


def test_memory_refusal(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "50M")
    par = dl.table1()
    model = dl.random_model(jax.random.PRNGKey(0), 12, par)
    with pytest.raises(jaxspin.MemoryBudgetError, match=r"N = 12 electron spins \(8192 states"):
        dl.steady_state(model)
    with pytest.raises(jaxspin.MemoryBudgetError, match="GiB|MiB"):
        dl.check_size(16)


def test_sz_squares_symmetric_split():
    """The in-sector Σ_j |<n|S^z_j|n'>|² of large sectors uses a 2×2 block split."""
    from jaxspin.deluca16._rates import _sum_sz_squares

    rng = np.random.default_rng(0)
    V = np.linalg.qr(rng.normal(size=(300, 300)))[0]
    sub = np.stack([rng.choice(300, 120, replace=False) for _ in range(5)]).astype(np.int32)
    ref = sum((V[s].T @ V[s]) ** 2 for s in sub)
    np.testing.assert_allclose(_sum_sz_squares(V, sub), ref, atol=1e-14)
