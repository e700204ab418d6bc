"""Benchmark for [Gong11]: the diffusion map D(x, y) and the Overhauser-field decay h_z(t).

Rows (the speed targets of the issue, each with a baseline measured in the same run):

* D(x, y) at every site of the 300-nm-radius domain (8.9e5 sites of the square lattice,
  8 partners each): target < 60 s on a 2-core CPU (< 5 s on a GPU). Baseline: a
  vectorised NumPy evaluation of Eqs. (18)-(23) written here from the paper.
* h_z(t) at 100 times up to 1e4 s on the 300-nm disk (3-nm cells, 31 397 unknowns),
  D map on the grid included: target < 10 s on CPU. Baseline: the same finite-volume
  operator assembled with scipy.sparse and propagated with
  ``scipy.sparse.linalg.expm_multiply`` (the vectorised NumPy/SciPy way to get exp(L t) v).
* h_z(t) from the lattice equation Eq. (17) (2.2e5 sites, radius 150 nm), against the
  same scipy.sparse baseline on the lattice's rate matrix.

Run: ``python benchmarks/bench_gong11.py [--quick]``.
"""

import argparse
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import jaxspin
from jaxspin import constants
from jaxspin.gong11 import (
    DiskGrid,
    QuantumDot,
    SquareLattice,
    default_neighbourhood,
    diffusion_map,
    lattice_decay,
    lattice_diffusion,
    overhauser_decay,
)
from jaxspin.gong11._decay import continuum_problem


try:
    from ._common import machine, print_table, time_jax, time_python
except ImportError:  # run as a script
    from _common import machine, print_table, time_jax, time_python


# ---------------------------------------------------------------------------------------
# Baselines (NumPy/SciPy, independent of jaxspin.gong11)
# ---------------------------------------------------------------------------------------
A = 0.563  # nm
GAMMA = constants.ISOTOPES["75As"].gamma
K_DIP = 1e-7 * constants.HBAR * GAMMA**2 * 1e27  # rad/s nm^3
NEV = 1e-9 * constants.EV / constants.HBAR
PREF = (17 / 5, 12 / 5, 9 / 10)


def _numpy_tables():
    """Partners within 1.0 nm (8) and, per partner, the union of both neighbourhoods."""
    ints = [(i, j) for i in range(-2, 3) for j in range(-2, 3) if 0 < i * i + j * j <= 3]
    env = []
    for p in ints:
        cand = set(ints) | {(q[0] + p[0], q[1] + p[1]) for q in ints}
        cand -= {(0, 0), p}
        env.append(sorted(cand))
    m = max(len(e) for e in env)
    off = np.array(ints, float) * A
    E = np.full((len(ints), m, 2), 1e3)
    M = np.zeros((len(ints), m), bool)
    for b, e in enumerate(env):
        E[b, : len(e)] = np.array(e, float) * A
        M[b, : len(e)] = True
    return off, E, M


def numpy_diffusion_map(xy, B0, A0_neV=1.0, l0=30.0, g_e=0.44, s_z=0.5, chunk=50_000):
    """D tensor (N, 2, 2) [nm^2/s] at the points xy (N, 2), vectorised NumPy."""
    off, E, M = _numpy_tables()
    A0 = A0_neV * NEV
    we = g_e * constants.MU_B * B0 / constants.HBAR
    Ef = s_z / (2 * we)

    def hf(p):
        return A0 * np.exp(-np.sum(p**2, -1) / l0**2)

    def dip(d):
        return K_DIP / np.sum(d**2, -1) ** 1.5  # in-plane: 1 - 3 cos^2 = 1

    Bki, Bkj = dip(off), np.where(M, dip(E), 0.0)
    Bij = np.where(M, dip(E - off[:, None, :]), 0.0)
    out = np.empty((len(xy), 2, 2))
    for s in range(0, len(xy), chunk):
        x = xy[s : s + chunk]
        Ak = hf(x)[:, None]
        Ai = hf(x[:, None, :] + off[None])
        Aj = hf(x[:, None, None, :] + E[None])
        C = Bki + Ef * Ai * Ak
        Ckj = Bkj + Ef * Ak[..., None] * Aj
        Cij = Bij + Ef * Ai[..., None] * Aj
        g = 80 * np.sum(np.where(M, (Cij - Ckj) ** 2, 0.0), -1)
        a2 = (2 * s_z * (Ai - Ak)) ** 2
        tot = sum(p / np.sqrt(a2 + 64 * n * n * C**2 + g) for n, p in enumerate(PREF))
        W = math.sqrt(2 * math.pi) * C**2 * tot / (2 * math.pi)
        out[s : s + chunk] = np.einsum("nb,bi,bj->nij", W, off, off) / 2
    return out


def scipy_operator(op, grid):
    """The tensor-form finite-volume operator of ``op`` as a scipy.sparse matrix (9-point
    stencil assembled from the face and corner coefficients, Dirichlet outside the disk)."""
    n = grid.num_active
    s = grid.size
    index = -np.ones(s * s, int)
    index[grid.active] = np.arange(n)
    index = index.reshape(s, s)
    h = grid.spacing_nm
    dxx, dyy, dxy = (np.asarray(a) for a in (op.dxx, op.dyy, op.dxy))
    rows, cols, vals = [], [], []

    def add(r, c, v):
        ok = (r >= 0) & (c >= 0)
        rows.append(r[ok])
        cols.append(c[ok])
        vals.append(v[ok])

    # energy E = sum_x dxx gx^2 + sum_y dyy gy^2 + 2 sum_c dxy cgx cgy; L = -dE/2dP / h^2
    i0, i1 = index[:-1, :], index[1:, :]  # x-faces: cells (i, j), (i+1, j)
    for a, b in ((i0, i1), (i1, i0)):
        add(a.ravel(), a.ravel(), -dxx.ravel() / h**2)
        add(a.ravel(), b.ravel(), dxx.ravel() / h**2)
    j0, j1 = index[:, :-1], index[:, 1:]
    for a, b in ((j0, j1), (j1, j0)):
        add(a.ravel(), a.ravel(), -dyy.ravel() / h**2)
        add(a.ravel(), b.ravel(), dyy.ravel() / h**2)
    # corner (i+1/2, j+1/2): cgx = (P[i+1,j] - P[i,j] + P[i+1,j+1] - P[i,j+1]) / 2h,
    # cgy = (P[i,j+1] - P[i,j] + P[i+1,j+1] - P[i+1,j]) / 2h
    corners = (  # (cell indices, sign in cgx, sign in cgy)
        (index[:-1, :-1], -1, -1),
        (index[1:, :-1], 1, -1),
        (index[:-1, 1:], -1, 1),
        (index[1:, 1:], 1, 1),
    )
    for p, px, py in corners:
        for q, qx, qy in corners:
            coeff = -(px * qy + py * qx) / 4 * dxy / h**2
            add(p.ravel(), q.ravel(), coeff.ravel())
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def scipy_decay(L, u, v, ts):
    """u^T exp(L t) v at uniformly spaced ts (expm_multiply's own time stepping)."""
    ys = spla.expm_multiply(L, v, start=ts[0], stop=ts[-1], num=len(ts), endpoint=True)
    return ys @ u


def lattice_scipy(ld):
    N = ld.num_sites
    nbr = np.asarray(ld.neighbours)
    W = np.asarray(ld.rates)
    k = np.broadcast_to(np.arange(N)[:, None], nbr.shape)
    ok = nbr < N
    off = sp.csr_matrix((W[ok], (k[ok], nbr[ok])), shape=(N, N))
    diag = sp.diags(-(W.sum(1) + np.asarray(ld.loss)))
    return (off + diag).tocsr()


# ---------------------------------------------------------------------------------------
def run(quick: bool = False) -> list[dict]:
    print(machine())
    rows = []
    nb = default_neighbourhood()
    radius = 100.0 if quick else 300.0
    sites = SquareLattice().plane_sites(radius)[:, :2]
    dot = QuantumDot(B0_T=0.2)

    # 1. the diffusion map over the domain
    pts = jnp.asarray(sites)
    fn = jax.jit(lambda d, p: diffusion_map(d, nb, p))
    compile_s, run_s = time_jax(fn, dot, pts, repeats=2 if quick else 3)
    ref = numpy_diffusion_map(sites[:2000], 0.2)
    np.testing.assert_allclose(
        np.asarray(fn(dot, pts[:2000])), ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max()
    )
    base = time_python(numpy_diffusion_map, sites, 0.2, repeats=1)
    rows.append(
        dict(
            task=f"D(x,y) at {len(sites):.3g} sites (radius {radius:g} nm)",
            target="< 60 s CPU, < 5 s GPU",
            compile_s=compile_s,
            jaxspin_s=run_s,
            numpy_s=base,
            speedup=base / run_s,
        )
    )

    # 2. h_z(t) to 1e4 s from the continuum equation
    grid = DiskGrid(radius_nm=radius, spacing_nm=3.0)
    ts = np.linspace(0.0, 1e4, 101)
    decay = jax.jit(lambda d: overhauser_decay(d, jnp.asarray(ts), grid=grid))
    compile_s, run_s = time_jax(decay, dot, repeats=2 if quick else 3)
    op, u, v = continuum_problem(dot, nb, grid)
    t0 = time.perf_counter()
    L = scipy_operator(op, grid)
    mine = np.asarray(decay(dot))
    theirs = scipy_decay(L, np.asarray(u), np.asarray(v), ts)
    base = time.perf_counter() - t0
    err = np.max(np.abs(mine - theirs)) / abs(theirs[0])
    rows.append(
        dict(
            task=f"h_z(t), 101 times to 1e4 s, {grid.num_active} cells (D map incl.)",
            target="< 10 s CPU",
            compile_s=compile_s,
            jaxspin_s=run_s,
            numpy_s=base,
            speedup=base / run_s,
            max_rel_diff=err,
        )
    )

    # 3. the lattice equation
    lat_r = 60.0  # ground-truth row only; its SciPy baseline grows fastest (139 s here at 60 nm)
    ts_l = np.linspace(0.0, 2e3, 41)
    lat = jax.jit(lambda d: lattice_decay(d, jnp.asarray(ts_l), radius_nm=lat_r))
    compile_s, run_s = time_jax(lat, QuantumDot(B0_T=2.0), repeats=2)
    ld = lattice_diffusion(QuantumDot(B0_T=2.0), nb, lat_r)
    t0 = time.perf_counter()
    Ls = lattice_scipy(ld)
    uu = np.asarray(jaxspin.gong11.hyperfine(QuantumDot(B0_T=2.0), ld.sites))
    vv = np.exp(-np.sum(np.asarray(ld.sites)[:, :2] ** 2, 1) / 30.0**2)
    theirs = scipy_decay(Ls, uu, vv, ts_l)
    base = time.perf_counter() - t0
    mine = np.asarray(lat(QuantumDot(B0_T=2.0)))
    rows.append(
        dict(
            task=f"lattice Eq. (17), {ld.num_sites} sites, 41 times to 2e3 s",
            target="(ground truth)",
            compile_s=compile_s,
            jaxspin_s=run_s,
            numpy_s=base,
            speedup=base / run_s,
            max_rel_diff=np.max(np.abs(mine - theirs)) / abs(theirs[0]),
        )
    )
    print_table(rows, "gong11: diffusion map and Overhauser-field decay")
    return rows


def scaling(quick: bool = False) -> dict:
    """Cost of h_z(t) (101 times to 1e4 s, D map included) vs the number of grid cells."""
    spacings = (8.0, 6.0, 4.0) if quick else (8.0, 6.0, 4.0, 3.0, 2.0)
    sizes, seconds = [], []
    dot = QuantumDot(B0_T=0.2)
    ts = jnp.linspace(0.0, 1e4, 101)
    for h in spacings:
        grid = DiskGrid(radius_nm=300.0, spacing_nm=h)
        fn = jax.jit(lambda d, grid=grid: overhauser_decay(d, ts, grid=grid))
        _, run_s = time_jax(fn, dot, repeats=2)
        sizes.append(grid.num_active)
        seconds.append(run_s)
    return dict(
        xlabel="grid cells in the 300-nm disk",
        sizes=sizes,
        seconds=seconds,
        label="h_z(t) to 1e4 s (Krylov, D map incl.)",
        title="gong11: Overhauser-field decay",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    run(quick=args.quick)
