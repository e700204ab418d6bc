"""[DeLuca16] beyond the paper's sizes: one realization at N = 6 ... 14, eigenstates to 16.

Rows, each measured in a fresh process of this run (so that the peak resident memory,
``getrusage``'s ``ru_maxrss``, is that case's own):

- ``streamed``: :func:`jaxspin.deluca16.steady_state_streamed` (sector by sector; wall
  seconds per stage: ED, matrix elements, rates, solve; its own estimate printed before
  the run is in the table too);
- ``batched``: :func:`jaxspin.deluca16.steady_state` (all blocks in memory; N <= 12
  unless ``--batched-max``);
- ``numpy/scipy``: ``bench_deluca16.numpy_pipeline`` (dense ``2^(N+1)`` rate matrix, an
  implementation independent of jaxspin; N <= 12 unless ``--numpy-max``), with its stage
  times; its ``P_n`` is compared with the streamed one;
- ``eigenstates``: :func:`jaxspin.deluca16.eigenstate_polarizations` for one realization
  (Fig. 4: the zero-magnetization sector of the electrons alone) at ``--mbl`` sizes.

Times include compilation (first call in a fresh process: what a user waits for).

Run: ``python benchmarks/bench_deluca16_large.py [--sizes 6 8 10 12 14] [--mbl 12 14 16]
[--out DIR]`` (N = 14 streamed: minutes on 2 cores; N = 16 eigenstates: about ten).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _one(n: int, mode: str) -> dict:
    import resource

    import jax
    import numpy as np

    import jaxspin.deluca16 as dl

    model = dl.random_model(jax.random.PRNGKey(n), n, dl.table1(U_mhz=15.0))
    out: dict = {"n": n, "mode": mode}
    t0 = time.perf_counter()
    if mode == "streamed":
        run = dl.steady_state_streamed(model, progress=True)
        out["pn"] = float(run.result.nuclear_polarization)
        out["seconds"] = run.seconds
        out["estimate_bytes"] = run.estimate.peak_bytes
        out["estimate_seconds"] = sum((run.estimate.seconds or {}).values())
    elif mode == "batched":
        out["pn"] = float(dl.steady_state(model).nuclear_polarization)
    elif mode == "numpy":
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_deluca16 import _par_dict, numpy_pipeline

        stages: dict = {}
        args = (np.asarray(model.delta), np.asarray(model.U), np.asarray(model.D))
        out["pn"] = float(numpy_pipeline(*args, _par_dict(model.params), times=stages))
        out["seconds"] = stages
    elif mode == "eigenstates":
        e, sz = dl.eigenstate_polarizations(model, site=None, block_size=1)
        jax.block_until_ready(sz)
        out["dim"] = int(e.shape[-1])
    else:
        raise ValueError(mode)
    out["wall"] = time.perf_counter() - t0
    out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def _spawn(n: int, mode: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, __file__, "--one", str(n), mode],
        capture_output=True,
        text=True,
        env=env,
    )
    sys.stderr.write(proc.stderr[-2000:])
    if proc.returncode != 0:
        return {"n": n, "mode": mode, "error": proc.stderr.strip().splitlines()[-1][:120]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gb(x):
    return f"{x / 1e9:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[6, 8, 10, 12, 14])
    ap.add_argument("--mbl", type=int, nargs="*", default=[12, 14, 16])
    ap.add_argument("--batched-max", type=int, default=12)
    ap.add_argument("--numpy-max", type=int, default=12)
    ap.add_argument("--out", default=None, help="write results.json and a scaling PNG here")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(int(args.one[0]), args.one[1])))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import machine

    print(machine())
    results = []
    for n in args.sizes:
        modes = ["streamed"]
        modes += ["batched"] if n <= args.batched_max else []
        modes += ["numpy"] if n <= args.numpy_max else []
        for mode in modes:
            print(f"== N = {n}: {mode}", file=sys.stderr, flush=True)
            results.append(_spawn(n, mode))
    for n in args.mbl:
        print(f"== N = {n}: eigenstates", file=sys.stderr, flush=True)
        results.append(_spawn(n, "eigenstates"))

    by = {(r["n"], r["mode"]): r for r in results}
    head = (
        f"{'N':>3} {'states':>7} | {'ED':>7} {'elem':>7} {'rates':>7} {'solve':>7} "
        f"{'wall':>7} {'est s':>7} {'RSS GB':>7} {'est GB':>7} | {'batched s':>9} {'GB':>5} | "
        f"{'numpy s':>8} {'GB':>5} {'np/str':>6} {'|ΔP_n|':>8}"
    )
    print("\n[DeLuca16] one realization, streamed vs batched vs numpy/scipy (fresh process each)")
    print(head)
    print("-" * len(head))
    for n in args.sizes:
        s = by.get((n, "streamed"), {})
        b = by.get((n, "batched"), {})
        p = by.get((n, "numpy"), {})
        if "error" in s:
            print(f"{n:>3} streamed failed: {s['error']}")
            continue
        sec = s["seconds"]
        row = (
            f"{n:>3} {2 ** (n + 1):>7} | {sec['ed']:7.2f} {sec['elements']:7.2f} "
            f"{sec['rates']:7.2f} {sec['solve']:7.2f} {s['wall']:7.2f} "
            f"{s['estimate_seconds']:7.2f} {_gb(s['rss']):>7} {_gb(s['estimate_bytes']):>7} | "
        )
        row += f"{b['wall']:9.2f} {_gb(b['rss']):>5} | " if "wall" in b else f"{'-':>9} {'-':>5} | "
        if "wall" in p:
            dp = abs(p["pn"] - s["pn"])
            row += f"{p['wall']:8.2f} {_gb(p['rss']):>5} {p['wall'] / s['wall']:6.2f} {dp:8.1e}"
        else:
            row += f"{'-':>8} {'-':>5} {'-':>6} {'-':>8}"
        print(row)
    if args.mbl:
        print("\n[DeLuca16] Fig. 4 eigenstates (zero-magnetization sector), one realization")
        print(f"{'N':>3} {'dim':>6} {'wall s':>8} {'RSS GB':>7}")
        for n in args.mbl:
            r = by[(n, "eigenstates")]
            if "error" in r:
                print(f"{n:>3} failed: {r['error']}")
            else:
                print(f"{n:>3} {r['dim']:>6} {r['wall']:8.2f} {_gb(r['rss']):>7}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "deluca16_large.json").write_text(json.dumps(results, indent=1))
        _plot(args, by, out / "deluca16_large_scaling.png")


def _plot(args, by, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    ns = [n for n in args.sizes if "seconds" in by.get((n, "streamed"), {})]
    for stage in ("ed", "elements", "rates", "solve"):
        ax[0].semilogy(ns, [by[(n, "streamed")]["seconds"][stage] for n in ns], "o-", label=stage)
    ax[0].semilogy(ns, [by[(n, "streamed")]["wall"] for n in ns], "k^-", label="streamed (wall)")
    for mode, mk in (("batched", "s--"), ("numpy", "x--")):
        m = [n for n in ns if "wall" in by.get((n, mode), {})]
        ax[0].semilogy(m, [by[(n, mode)]["wall"] for n in m], mk, label=f"{mode} (wall)")
    ax[0].set_xlabel("N electron spins (2^(N+1) states)")
    ax[0].set_ylabel("seconds (incl. compile)")
    ax[0].legend(fontsize=8)
    ax[0].set_title("time per stage, one realization")
    for mode, mk in (("streamed", "^-"), ("batched", "s--"), ("numpy", "x--")):
        m = [n for n in ns if "rss" in by.get((n, mode), {})]
        ax[1].semilogy(m, [by[(n, mode)]["rss"] / 1e9 for n in m], mk, label=f"{mode} peak RSS")
    ax[1].semilogy(
        ns,
        [by[(n, "streamed")]["estimate_bytes"] / 1e9 for n in ns],
        "k:",
        label="streamed estimate",
    )
    ax[1].set_xlabel("N electron spins")
    ax[1].set_ylabel("GB")
    ax[1].legend(fontsize=8)
    ax[1].set_title("peak memory")
    fig.suptitle("[DeLuca16] one realization beyond the paper's N = 12", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
