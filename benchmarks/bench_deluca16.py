"""[DeLuca16] benchmark: stationary nuclear polarization of the DNP rate master equation.

Pipeline (one disorder realization, N electrons + 1 nucleus, 2^(N+1) states): sector
Hamiltonians, per-sector ``eigh``, matrix elements of ``S^±_j``, ``S^z_j``, ``S^x``, bath
(12) and microwave (16) rates, stationary state of Eq. (11), ``P_n`` (26).

Rows (all measured in this run, same process, same thread settings):

- ``numpy/scipy``: a straightforward implementation written here, independently of
  jaxspin: Python-built sector Hamiltonians, ``numpy.linalg.eigh`` per sector,
  ``V_{k+1}ᵀ (S^+_j V_k)`` with ``scipy.sparse`` ``S^+_j`` and ``V_kᵀ S^z_j V_k`` per spin,
  rates assembled into the dense ``2^(N+1)`` matrix, ``numpy.linalg.solve`` of the
  normalised stationary system.
- ``jaxspin``: ``jaxspin.deluca16.steady_state`` (jit; restricted GEMMs for the matrix
  elements, block-tridiagonal stationary solve, vmap over realizations). Compile time
  is reported separately.

Targets [issue]: ≥ 2× at N = 12 (one realization), ≥ 10× on 64 realizations at N = 8.

Threads: BLAS threading changes these numbers a lot on a small shared machine. Run with
``--threads 1`` (or 2) to pin both sides: it sets ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and XLA's CPU thread pool
(``--xla_cpu_multi_thread_eigen`` / ``intra_op_parallelism_threads``) before JAX starts.
Without it both sides use their defaults (all cores); ``machine()`` prints what applied.

Run: ``python benchmarks/bench_deluca16.py [--quick] [--threads 1]``.
"""

import os
import sys


def _pin_threads(argv):
    """Pin BLAS/XLA threads from ``--threads N`` before numpy/JAX are imported."""
    if "--threads" not in argv:
        return None
    n = argv[argv.index("--threads") + 1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    flags = os.environ.get("XLA_FLAGS", "")
    if n == "1":
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()
    return n


if __name__ == "__main__":
    _pin_threads(sys.argv)

import argparse  # noqa: E402
import itertools  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402

import jaxspin  # noqa: E402, F401
import jaxspin.deluca16 as dl  # noqa: E402


try:
    from ._common import machine, print_table, time_jax, time_python
except ImportError:  # pragma: no cover
    from _common import machine, print_table, time_jax, time_python


# --------------------------------------------------------------------------------------
# The NumPy/SciPy baseline (independent of jaxspin)
# --------------------------------------------------------------------------------------
def numpy_pipeline(delta, U, D, par, times=None):
    """Stationary P_n of one realization. ``par``: dict of floats (rad/µs, µs); ``times``: a
    dict that receives wall seconds per stage (``ed``, ``elements+rates``, ``solve``)."""
    times = {} if times is None else times
    t0 = time.perf_counter()
    N = len(delta)
    # sector k: electron configurations as tuples of up spins, times nucleus (0 up, 1 down)
    sectors = []
    for k in range(N + 1):
        confs = [frozenset(c) for c in itertools.combinations(range(N), k)]
        states = [(c, nu) for c in confs for nu in (0, 1)]
        sectors.append({s: a for a, s in enumerate(states)})
    mz = lambda c, i: 0.5 if i in c else -0.5
    energies, vectors, iz = [], [], []
    for k in range(N + 1):
        index = sectors[k]
        d = len(index)
        H = np.zeros((d, d))
        for (c, nu), a in index.items():
            H[a, a] = sum(delta[i] * mz(c, i) for i in range(N)) - par["omega_n"] * (0.5 - nu)
            hf = 0.5 * sum(D[i] * mz(c, i) for i in range(N))
            H[a, index[(c, 1 - nu)]] = hf
            for i in c:
                for j in range(N):
                    if j not in c:  # S^-_i S^+_j: i down, j up
                        H[a, index[((c - {i}) | {j}, nu)]] = U[min(i, j), max(i, j)]
        e, v = np.linalg.eigh(H)
        energies.append(e)
        vectors.append(v)
        nuc = np.array([0.5 - nu for (c, nu) in index])
        iz.append((v**2).T @ nuc)
    times["ed"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sizes = [len(s) for s in sectors]
    offs = np.cumsum([0] + sizes)
    n = offs[-1]
    W = np.zeros((n, n))
    beta, T1e, T2e = par["beta"], par["T1e"], par["T2e"]
    h = lambda x: 1.0 / (1.0 + np.exp(-beta * x))
    for k in range(N + 1):  # in-sector S^z_j
        index, V = sectors[k], vectors[k]
        zz = np.zeros((sizes[k], sizes[k]))
        for j in range(N):
            m = np.array([mz(c, j) for (c, nu) in index])
            Z = V.T @ (m[:, None] * V)
            zz += Z**2
        np.fill_diagonal(zz, 0.0)
        e = energies[k]
        W[offs[k] : offs[k + 1], offs[k] : offs[k + 1]] = (
            2.0 / T1e * h(e[None, :] - e[:, None]) * zz
        )
    for k in range(N):  # S^+_j from sector k to k+1
        lo, hi = sectors[k], sectors[k + 1]
        flip = np.zeros((sizes[k + 1], sizes[k]))
        amp = np.zeros((sizes[k + 1], sizes[k]))
        for j in range(N):
            rows, cols = [], []
            for (c, nu), a in lo.items():
                if j not in c:
                    rows.append(hi[(c | {j}, nu)])
                    cols.append(a)
            S = scipy.sparse.csr_matrix(
                (np.ones(len(rows)), (rows, cols)), shape=(sizes[k + 1], sizes[k])
            )
            A = vectors[k + 1].T @ (S @ vectors[k])
            flip += A**2
            amp += A
        gap = energies[k + 1][:, None] - energies[k][None, :]
        mw = (
            par["omega_1"] ** 2
            * T2e
            * amp**2
            / (1.0 + (T2e * (gap - (par["omega_mw"] - par["omega_e"]))) ** 2)
        )
        W[offs[k + 1] : offs[k + 2], offs[k] : offs[k + 1]] = (
            h(-(par["omega_e"] + gap)) * flip / T1e + mw
        )
        W[offs[k] : offs[k + 1], offs[k + 1] : offs[k + 2]] = (
            h(par["omega_e"] + gap) * flip / T1e + mw
        ).T
    times["elements+rates"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    G = W - np.diag(W.sum(axis=0))
    A = G + np.full((n, n), 1.0 / n)
    p = np.linalg.solve(A, np.full(n, 1.0 / n))
    times["solve"] = time.perf_counter() - t0
    return 2.0 * p @ np.concatenate(iz)


def _par_dict(params):
    return {
        f: float(getattr(params, f))
        for f in ("omega_e", "omega_n", "omega_1", "omega_mw", "T1e", "T2e", "beta")
    }


# --------------------------------------------------------------------------------------
def _jax_steady(models):
    return dl.steady_state(models).nuclear_polarization


def run(quick: bool = False) -> list[dict]:
    """Print and return the table of timings and speed-ups."""
    print(machine())
    params = dl.table1(U_mhz=15.0)
    par = _par_dict(params)
    rows = []
    cases = [(8, 64), (12, 1)] if not quick else [(6, 16), (8, 1)]
    for n_spins, batch in cases:
        key = jax.random.PRNGKey(0)
        models = dl.random_models(key, n_spins, batch, params)
        arrays = [
            (np.asarray(models.delta[r]), np.asarray(models.U[r]), np.asarray(models.D[r]))
            for r in range(batch)
        ]
        run_np = lambda: [numpy_pipeline(a, u, d, par) for a, u, d in arrays]
        ref = np.asarray(run_np())
        compile_s, jax_s = time_jax(_jax_steady, models, repeats=2 if n_spins >= 12 else 5)
        got = np.asarray(_jax_steady(models))
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)
        np_s = time_python(run_np, repeats=1 if n_spins >= 12 else 3)
        rows.append(
            {
                "case": f"N={n_spins}, {batch} realization(s), {2 ** (n_spins + 1)} states",
                "numpy/scipy [s]": np_s,
                "jaxspin [s]": jax_s,
                "jaxspin compile [s]": compile_s,
                "speed-up": np_s / jax_s,
                "target": "≥ 10x" if batch > 1 else "≥ 2x",
            }
        )
    print_table(rows, "[DeLuca16] stationary P_n: numpy/scipy baseline vs jaxspin")
    return rows


def scaling(quick: bool = False) -> dict:
    """Wall time of one realization's stationary state vs N (run time, compile excluded)."""
    params = dl.table1(U_mhz=15.0)
    sizes = [4, 6, 8] if quick else [4, 6, 8, 10, 12]
    seconds = []
    for n in sizes:
        models = dl.random_models(jax.random.PRNGKey(0), n, 1, params)
        _, t = time_jax(_jax_steady, models, repeats=1 if n >= 12 else 3)
        seconds.append(t)
    return {
        "xlabel": "N electron spins (2^(N+1) states)",
        "sizes": sizes,
        "seconds": seconds,
        "label": "jaxspin.deluca16.steady_state",
        "title": "[DeLuca16] stationary state of one realization",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", default=None, help="pin BLAS and XLA threads (set above)")
    args = parser.parse_args()
    run(quick=args.quick)
    if not args.quick:
        sc = scaling()
        print_table(
            [{"N": n, "seconds": s} for n, s in zip(sc["sizes"], sc["seconds"], strict=True)],
            sc["title"],
        )
