"""The Dicke-ladder reduction against the master equation in the full tensor-product space
(2^N nuclear states times 3 QD states), written here independently with NumPy.

(a) The same diagonal-nuclear, adiabatic approximation built in the product space: the
    collective operators are sums of single-spin operators, the Dicke basis is found
    numerically (eigenvectors of I² in every I_z sector; an arbitrary basis inside each
    degenerate (I, I_z) subspace), the conditional QD states come from a NumPy Lindblad
    solve, and the stationary distribution is found for every connected block of the rate
    matrix, weighted by its share of the fully mixed state. It must agree to rounding.
(b) The joint QD-nuclear Lindbladian (all collapse operators, including the hyperfine-
    assisted ones acting on the QD) projected on nuclear-diagonal states: no adiabatic
    elimination. It must converge to the reduction as the hyperfine-assisted rates
    ε = (A/(N ω_z))² → 0 (taken by raising the field, which changes nothing else).
"""

import itertools
import math

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from jaxspin.latta09 import DickeSpace, Latta09Params, nuclear_steady_state


MU_B_UEV = 57.8838180  # Bohr magneton [µeV/T]


def collective(n):
    sp = np.array([[0.0, 1.0], [0.0, 0.0]])
    sz = np.diag([0.5, -0.5])
    eye = np.eye(2)

    def at(op, i):
        return _kron([op if j == i else eye for j in range(n)])

    ip = sum(at(sp, i) for i in range(n))
    iz = sum(at(sz, i) for i in range(n))
    return ip, iz


def _kron(ops):
    out = np.eye(1)
    for op in ops:
        out = np.kron(out, op)
    return out


def dicke_basis(ip, iz):
    """Columns: an orthonormal eigenbasis of (I², I_z); returns (B, I values, m values)."""
    im = ip.T
    i2 = 0.5 * (ip @ im + im @ ip) + iz @ iz
    mz = np.round(np.diag(iz) * 2) / 2
    dim = ip.shape[0]
    B = np.zeros((dim, dim))
    ivals, mvals = np.zeros(dim), np.zeros(dim)
    col = 0
    for m in np.unique(mz):
        idx = np.nonzero(mz == m)[0]
        lam, vec = np.linalg.eigh(i2[np.ix_(idx, idx)])
        for k in range(idx.size):
            B[idx, col] = vec[:, k]
            ivals[col] = (-1 + math.sqrt(1 + 4 * lam[k])) / 2
            mvals[col] = m
            col += 1
    return B, np.round(ivals * 2) / 2, mvals


def qd_ops(p, h):
    """3-level H (basis ↑, ↓, t) and QD collapse operators, in the test's own code."""
    wz = abs(p["g_e"]) * MU_B_UEV * p["field"]
    H = np.diag([0.0, wz - 2 * h, p["detuning"] - h]).astype(complex)
    H[2, 0] = H[0, 2] = p["rabi"] / 2
    e = np.eye(3)
    ket = lambda i, j: np.outer(e[i], e[j])
    cs = [
        math.sqrt(p["gamma"]) * ket(0, 2),
        math.sqrt(p["gamma_hhlh"]) * ket(1, 2),
        math.sqrt(p["kappa"]) * ket(1, 0),
        math.sqrt(p["kappa"]) * ket(0, 1),
    ]
    return H, cs, wz


def liouvillian(H, cs):
    """Column-stacking superoperator: vec(A ρ B) = (Bᵀ ⊗ A) vec(ρ)."""
    n = H.shape[0]
    eye = np.eye(n)
    L = -1j * (np.kron(eye, H) - np.kron(H.T, eye))
    for c in cs:
        cdc = c.conj().T @ c
        L += np.kron(c.conj(), c) - 0.5 * np.kron(eye, cdc) - 0.5 * np.kron(cdc.T, eye)
    return L


def qd_steady(H, cs):
    L = liouvillian(H, cs)
    _, _, vh = np.linalg.svd(L)
    rho = vh[-1].conj().reshape(3, 3, order="F")
    return rho / np.trace(rho)


def w_abs(d, rabi, gamma):
    return rabi**2 * gamma / (4 * d**2 + 2 * rabi**2 + gamma**2)


PARAMS = dict(
    detuning=0.7,
    rabi=1.3,
    gamma=1.0,
    gamma_hhlh=0.02,
    kappa=0.006,
    hyperfine=4.0,
    field=4.5,
    g_e=-0.67,
    spin_dephasing=3.0,
    decay=0.4,
)


def hyperfine_processes(p, n, h, rho, wz):
    """(direction, rate per |matrix element|²) of ROH, OH up/down, decay up/down."""
    eps = (p["hyperfine"] / (n * wz)) ** 2
    gdet = eps * p["spin_dephasing"] * w_abs(p["detuning"] - h, p["rabi"], p["gamma"])
    pop = np.real(np.diag(rho))
    gdec = p["decay"] * eps * p["gamma"]
    return [
        (+1, eps * p["gamma"] * pop[2]),
        (+1, gdet * pop[0]),
        (-1, gdet * pop[1]),
        (+1, gdec / 2),
        (-1, gdec / 2),
    ]


def stationary_by_components(W):
    """Stationary state of the rate matrix ``W`` (``W[j, i]``: rate ``i → j``) from the
    fully mixed start: each connected component (a conserved total spin) gets its share
    ``size/dim`` of the probability and is solved by least squares (NumPy only). Returns
    ``(p, number of components)``."""
    dim = W.shape[0]
    ncomp, labels = connected_components((W + W.T) > 0, directed=False)
    pstat = np.zeros(dim)
    for c in range(ncomp):
        idx = np.nonzero(labels == c)[0]
        Wc = W[np.ix_(idx, idx)]
        G = Wc - np.diag(Wc.sum(axis=0))
        A = np.vstack([G, np.ones(idx.size)])
        rhs = np.zeros(idx.size + 1)
        rhs[-1] = 1.0
        pstat[idx] = np.linalg.lstsq(A, rhs, rcond=None)[0] * idx.size / dim
    return pstat, ncomp


def full_space_adiabatic(p, n):
    """Stationary P(m) and d<I_z>/dt per process from the product-space rate equation."""
    ip, iz = collective(n)
    B, ivals, mvals = dicke_basis(ip, iz)
    jp = B.T @ ip @ B  # I_+ in the Dicke basis
    jm = jp.T
    dim = 2**n
    per_state = []
    W = np.zeros((dim, dim))
    parts = np.zeros((5, dim, dim))
    for b in range(dim):
        h = p["hyperfine"] / n * mvals[b]
        H, cs, wz = qd_ops(p, h)
        rho = qd_steady(H, cs)
        procs = hyperfine_processes(p, n, h, rho, wz)
        for k, (d, g) in enumerate(procs):
            J = jp if d > 0 else jm
            col = g * np.abs(J[:, b]) ** 2
            parts[k, :, b] = col
            W[:, b] += col
        per_state.append(rho)
    W[W < 1e-12 * W.max()] = 0.0  # rounding-level couplings between different I
    pstat, ncomp = stationary_by_components(W)
    ms = np.arange(-n / 2, n / 2 + 0.5)
    pm = np.array([pstat[np.isclose(mvals, m)].sum() for m in ms])
    flows = np.array(
        [np.sum((mvals[:, None] - mvals[None, :]) * parts[k] * pstat[None, :]) for k in range(5)]
    )
    return ms, pm, flows, ncomp, ivals


@pytest.mark.parametrize("n", [2, 3, 4])
def test_dicke_reduction_equals_full_product_space(n):
    ms, pm, flows, ncomp, ivals = full_space_adiabatic(PARAMS, n)
    # the blocks are the (I, α) copies or whole I sectors: either way Σ D(I) = count
    assert ncomp >= len(np.unique(ivals))
    space = DickeSpace(n, tail=0.0)
    ss = nuclear_steady_state(Latta09Params(**PARAMS), space)
    np.testing.assert_allclose(np.asarray(space.m), ms)
    np.testing.assert_allclose(np.asarray(ss.p), pm, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(np.asarray(ss.process_rates()), flows, rtol=1e-8, atol=1e-20)
    assert abs(flows.sum()) < 1e-9 * np.abs(flows).max()  # stationarity


def joint_projected(p, n):
    """Stationary P(m) of the joint QD ⊗ nuclear Lindbladian restricted to nuclear-diagonal
    operators Σ_b X_b ⊗ |b><b| (Dicke basis), no adiabatic elimination."""
    ip, iz = collective(n)
    B, ivals, mvals = dicke_basis(ip, iz)
    jp = B.T @ ip @ B
    jm = jp.T
    dim = 2**n
    wz = abs(p["g_e"]) * MU_B_UEV * p["field"]
    eps = (p["hyperfine"] / (n * wz)) ** 2
    e3 = np.eye(3)
    ket = lambda i, j: np.outer(e3[i], e3[j])
    # joint Hamiltonian (QD ⊗ nuclei), diagonal in the nuclear Dicke basis
    H = np.zeros((3 * dim, 3 * dim), complex)
    for b in range(dim):
        h = p["hyperfine"] / n * mvals[b]
        Hq, _, _ = qd_ops(p, h)
        proj = np.zeros((dim, dim))
        proj[b, b] = 1.0
        H += np.kron(Hq, proj)
    _, qcs, _ = qd_ops(p, 0.0)
    cs = [np.kron(c, np.eye(dim)) for c in qcs]
    fdet = np.diag(
        [
            math.sqrt(
                eps
                * p["spin_dephasing"]
                * w_abs(p["detuning"] - p["hyperfine"] / n * m, p["rabi"], p["gamma"])
            )
            for m in mvals
        ]
    )
    gdec = p["decay"] * eps * p["gamma"]
    cs += [
        math.sqrt(eps * p["gamma"]) * np.kron(ket(1, 2), jp),
        np.kron(ket(1, 0), jp @ fdet),
        np.kron(ket(0, 1), jm @ fdet),
        math.sqrt(gdec / 2) * np.kron(np.eye(3), jp),
        math.sqrt(gdec / 2) * np.kron(np.eye(3), jm),
    ]
    # basis of nuclear-diagonal operators: |q1><q2| ⊗ |b><b|
    index = {}
    for b, q1, q2 in itertools.product(range(dim), range(3), range(3)):
        index[(b, q1, q2)] = len(index)
    size = len(index)
    M = np.zeros((size, size), complex)
    cdcs = [c.conj().T @ c for c in cs]
    for (b, q1, q2), col in index.items():
        X = np.zeros((3 * dim, 3 * dim), complex)
        X[q1 * dim + b, q2 * dim + b] = 1.0
        LX = -1j * (H @ X - X @ H)
        for c, cdc in zip(cs, cdcs, strict=True):
            LX += c @ X @ c.conj().T - 0.5 * (cdc @ X + X @ cdc)
        for bb, r1, r2 in itertools.product(range(dim), range(3), range(3)):
            M[index[(bb, r1, r2)], col] = LX[r1 * dim + bb, r2 * dim + bb]
    # blocks: nuclear states linked by any rate
    link = np.zeros((dim, dim), bool)
    scale = np.abs(M).max()
    for (b, _, _), col in index.items():
        for (bb, _, _), row in index.items():
            if abs(M[row, col]) > 1e-12 * scale:
                link[bb, b] = True
    ncomp, labels = connected_components(link | link.T, directed=False)
    pstat = np.zeros(dim)
    for c in range(ncomp):
        states = np.nonzero(labels == c)[0]
        cols = [index[(b, q1, q2)] for b in states for q1 in range(3) for q2 in range(3)]
        Mc = M[np.ix_(cols, cols)]
        tr = np.tile(np.eye(3).reshape(-1), states.size)  # trace functional of each block
        A = np.vstack([Mc, tr])
        rhs = np.zeros(len(cols) + 1, complex)
        rhs[-1] = states.size / dim
        x = np.linalg.lstsq(A, rhs, rcond=None)[0]
        for k, b in enumerate(states):
            pstat[b] = np.real(x[9 * k] + x[9 * k + 4] + x[9 * k + 8])
    ms = np.arange(-n / 2, n / 2 + 0.5)
    return ms, np.array([pstat[np.isclose(mvals, m)].sum() for m in ms]), eps


def test_joint_master_equation_converges_to_reduction():
    n = 3
    errs, epss = [], []
    for field in (4.5, 45.0):
        p = dict(PARAMS, field=field)
        ms, pm_joint, eps = joint_projected(p, n)
        ss = nuclear_steady_state(Latta09Params(**p), DickeSpace(n, tail=0.0))
        errs.append(np.max(np.abs(np.asarray(ss.p) - pm_joint)))
        epss.append(eps)
    # The only difference is the back-action of the O(ε) hyperfine-assisted jumps on the QD
    # state; ε M / κ ≈ 5e-3 here, so a few 1e-3 at 4.5 T and 100x less at 45 T.
    assert errs[0] < 2e-2
    ratio = errs[0] / errs[1]
    assert 50 < ratio < 200, (errs, epss)
