"""Latta09 benchmark: the stationary nuclear polarization over a 200 × 200 (laser detuning ×
Rabi frequency) map for N = 1000 spin-½ nuclei (target: < 60 s on a 2-core CPU).

One map point = the conditional QD steady state for every ``I_z`` of the kept Dicke ladders
(``K = 2 I_cut + 1 = 211`` for N = 1000 and tail 1e-9), the nuclear rates, and the ladder
mixture. Rows (all measured in this run):

- ``jaxspin map (lattice)``: :func:`jaxspin.latta09.polarization_map` through the sweep
  layer; the detuning step 0.1 µeV equals A/N, so the QD solves are shared between
  detunings on the effective-detuning lattice (≈ 400 QD solves per Ω_L instead of 200 × 211).
- ``jaxspin map (per point)``: the same map with a detuning grid off the lattice (every point
  solves its own 211 QD problems); timed on a subset of Ω_L values and extrapolated.
- ``NumPy loop``: an independent NumPy implementation of the same per-``I_z`` problems
  (complex 9 × 9 Liouvillian + trace row, ``numpy.linalg.lstsq``; log-space ladder products),
  timed on a few map points and extrapolated to 40 000.
- ``QuTiP loop``: ``qutip.steadystate`` for each ``I_z`` of one map point, extrapolated.

Run: ``JAXSPIN_CPU_DEVICES=auto python benchmarks/bench_latta09.py [--quick]``.
"""

import argparse
import math
import os
import time


os.environ.setdefault("JAXSPIN_CPU_DEVICES", "auto")

import numpy as np  # noqa: E402

from jaxspin.latta09 import DickeSpace, Latta09Params, polarization_map  # noqa: E402


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import SweepLog, machine, print_table, time_python
except ImportError:  # pragma: no cover
    from _common import SweepLog, machine, print_table, time_python


MU_B_UEV = 57.8838180  # µeV/T


# ------------------------------------------------------------- independent NumPy version
def _numpy_point(detuning, rabi, n, spins, logw, m, p):
    """Stationary polarization of one map point, NumPy only (written independently)."""
    wz = abs(p["g_e"]) * MU_B_UEV * p["field"]
    eps = (p["hyperfine"] / (n * wz)) ** 2
    e = np.eye(3)
    cs = [
        math.sqrt(p["gamma"]) * np.outer(e[0], e[2]),
        math.sqrt(p["gamma_hhlh"]) * np.outer(e[1], e[2]),
        math.sqrt(p["kappa"]) * np.outer(e[1], e[0]),
        math.sqrt(p["kappa"]) * np.outer(e[0], e[1]),
    ]
    eye = np.eye(3)
    diss = sum(
        np.kron(c.conj(), c) - 0.5 * np.kron(eye, c.T @ c) - 0.5 * np.kron((c.T @ c).T, eye)
        for c in cs
    )
    a = np.empty(m.size)
    b = np.empty(m.size)
    for k, mk in enumerate(m):
        h = p["hyperfine"] / n * mk
        H = np.diag([0.0, wz - 2 * h, detuning - h]).astype(complex)
        H[0, 2] = H[2, 0] = rabi / 2
        L = -1j * (np.kron(eye, H) - np.kron(H.T, eye)) + diss
        A = np.vstack([L, np.eye(3).reshape(1, -1, order="F")])
        rhs = np.zeros(10, complex)
        rhs[-1] = 1
        rho = np.linalg.lstsq(A, rhs, rcond=None)[0].reshape(3, 3, order="F")
        x, y, z = np.real(np.diag(rho))
        eff = detuning - h
        wabs = rabi**2 * p["gamma"] / (4 * eff**2 + 2 * rabi**2 + p["gamma"] ** 2)
        gdet = eps * p["spin_dephasing"] * wabs
        gdec = p["decay"] * eps * p["gamma"]
        a[k] = eps * p["gamma"] * z + gdet * x + gdec / 2
        b[k] = gdet * y + gdec / 2
    # every ladder I: birth-death product restricted to |m| <= I, weighted by w_I
    logf = np.concatenate([[0.0], np.cumsum(np.log(a[:-1]) - np.log(b[1:]))])
    pm = np.zeros(m.size)
    for i_val, lw in zip(spins, logw, strict=True):
        inside = np.abs(m) <= i_val + 1e-9
        lf = logf[inside]
        pm[inside] += np.exp(lw + lf - np.logaddexp.reduce(lf))
    return float(pm @ m) / (n / 2)


def _map_grid(n_det, n_rabi, step):
    dets = (np.arange(n_det) - n_det // 2) * step
    rabis = np.linspace(0.2, 3.0, n_rabi)
    return dets, rabis


def run(quick: bool = False) -> list[dict]:
    n = 1000
    side = 60 if quick else 200
    space = DickeSpace(n, tail=1e-9)
    params = Latta09Params()
    step = float(params.hyperfine) / n  # 0.1 µeV: on the effective-detuning lattice
    dets, rabis = _map_grid(side, side, step)
    npts = side * side
    rows = []

    with SweepLog() as log:
        t0 = time.perf_counter()
        res = polarization_map(params, space, dets, rabis, progress=False)
        wall = time.perf_counter() - t0
    rows.append(
        dict(
            method=f"jaxspin map, lattice ({log.devices} devices)",
            points=npts,
            compile_s=log.compile_s,
            run_s=log.run_s,
            total_s=wall,
            target="< 60 s total",
        )
    )
    pol = res["polarization"]

    # off-lattice grid: every point solves its own K QD problems (subset of Ω_L)
    sub = max(2, side // 25)
    dets_off = dets + 0.5 * step * np.sqrt(2.0) * np.linspace(0, 1, side) ** 2
    with SweepLog() as log2:
        polarization_map(params, space, dets_off, rabis[:sub], progress=False)
    rows.append(
        dict(
            method=f"jaxspin map, per point ({sub} of {side} Ω_L, extrapolated)",
            points=npts,
            compile_s=log2.compile_s,
            run_s=log2.run_s * side / sub,
            total_s=log2.compile_s + log2.run_s * side / sub,
            target="",
        )
    )

    pd = dict(
        hyperfine=100.0,
        field=4.5,
        g_e=-0.67,
        gamma=1.0,
        gamma_hhlh=0.01,
        kappa=0.005,
        spin_dephasing=3.0,
        decay=float(params.decay),
    )
    spins, logw, m = space.spins, space.log_weights, space.m
    idx = [(side // 2, side // 3), (side // 3, side // 2), (2 * side // 3, side - 1)]
    if quick:
        idx = idx[:1]
    np_vals = []

    def numpy_points():
        np_vals.clear()
        for i, j in idx:
            np_vals.append(_numpy_point(dets[i], rabis[j], n, spins, logw, m, pd))

    t_np = time_python(numpy_points, repeats=1) / len(idx)
    err = max(abs(v - float(pol[i, j])) for v, (i, j) in zip(np_vals, idx, strict=True))
    rows.append(
        dict(
            method=f"NumPy loop ({len(idx)} points, extrapolated)",
            points=npts,
            compile_s=0.0,
            run_s=t_np * npts,
            total_s=t_np * npts,
            target="",
        )
    )
    try:
        import qutip

        def qutip_point():
            i, j = idx[0]
            wz = abs(pd["g_e"]) * MU_B_UEV * pd["field"]
            e = [qutip.basis(3, k) for k in range(3)]
            cs = [
                math.sqrt(pd["gamma"]) * e[0] * e[2].dag(),
                math.sqrt(pd["gamma_hhlh"]) * e[1] * e[2].dag(),
                math.sqrt(pd["kappa"]) * e[1] * e[0].dag(),
                math.sqrt(pd["kappa"]) * e[0] * e[1].dag(),
            ]
            for mk in m:
                h = pd["hyperfine"] / n * mk
                H = (
                    (wz - 2 * h) * e[1] * e[1].dag()
                    + (dets[i] - h) * e[2] * e[2].dag()
                    + rabis[j] / 2 * (e[2] * e[0].dag() + e[0] * e[2].dag())
                )
                qutip.steadystate(H, cs)

        t_q = time_python(qutip_point, repeats=1)
        rows.append(
            dict(
                method="QuTiP steadystate loop (1 point, K solves, extrapolated)",
                points=npts,
                compile_s=0.0,
                run_s=t_q * npts,
                total_s=t_q * npts,
                target="",
            )
        )
    except ImportError:
        print("qutip not installed: QuTiP baseline skipped")
    base = rows[0]["total_s"]
    for r in rows:
        r["ratio_vs_lattice"] = r["total_s"] / base
    print_table(
        rows,
        title=f"Latta09 {side} x {side} polarization map, N = {n} ({space.num_m} I_z values) "
        f"— {machine()}",
    )
    print(f"max |P_jaxspin - P_numpy| at the NumPy points: {err:.2e}")
    print("GPU target (< 2 s) not measured here: run this script on a GPU machine.")
    return rows


def scaling(quick: bool = False) -> dict:
    """Cost of a 50 × 50 map vs the number of nuclei (lattice path)."""
    sizes = [100, 300, 1000] + ([] if quick else [3000, 10000])
    seconds = []
    params = Latta09Params()
    for n in sizes:
        space = DickeSpace(n, tail=1e-9)
        dets, rabis = _map_grid(50, 50, float(params.hyperfine) / n * max(1, round(n / 1000)))
        with SweepLog() as log:
            polarization_map(params, space, dets, rabis, progress=False)
        seconds.append(log.run_s)
    return dict(
        xlabel="number of nuclei N",
        sizes=sizes,
        seconds=seconds,
        label="50 x 50 map, run time",
        title="Latta09 stationary polarization map",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    run(quick=parser.parse_args().quick)
