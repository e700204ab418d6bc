"""Latta09 at the real dot's size: the stationary state and dragging scans of the homogeneous
Dicke model for N = 10⁴ and 10⁵ spin-½ and spin-3/2 nuclei, on the paper's time axis
(dwells 0.2, 1, 5 s), with sizes, truncation, errors, time and peak memory.

Every configuration runs in its own subprocess (its peak resident memory is then its own).
Columns:

- ``L``, ``K``: kept ladders and ``I_z`` values (``DickeSpace(N, spin, tail=1e-6)``),
  ``tail``: the dropped Dicke weight (bounds the error of every probability).
- ``est IE`` / ``est modes``: the memory estimate of one dragging step for 3 dwells with
  :class:`ImplicitEuler` (what runs) and with the exact :class:`RelaxationModes` (what
  would be needed).
- ``stat compile`` / ``stat run``: :func:`detuning_scan` over 121 detunings (±3 µeV).
- ``drag compile`` / ``drag s/step``: :func:`drag` with ``ImplicitEuler(4)``, 3 dwells.
- ``ℓ¹ bound``: the summed per-step error estimate of the scan; ``Δabs x4``: the measured
  change of the absorption [µeV] when the substeps are multiplied by 4.
- ``peak RSS``: the subprocess's peak resident memory.

Baseline (same run): the exact modes against ``ImplicitEuler(4)`` at N = 1000 and 2000,
where the modes fit: time per step and the ratio.

Run: ``python benchmarks/bench_latta09_large.py [--quick]`` (``--quick``: N = 10⁴ only).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import machine, print_table
except ImportError:  # pragma: no cover
    from _common import machine, print_table


DWELLS = (0.2, 1.0, 5.0)
TAIL = 1e-6


def _one(n: int, spin: float, steps: int) -> dict:
    import jax
    import jax.numpy as jnp

    from jaxspin.latta09 import (
        DickeSpace,
        ImplicitEuler,
        Latta09Params,
        RelaxationModes,
        detuning_scan,
        drag,
        scan_detunings,
    )

    space = DickeSpace(n, spin, tail=TAIL)
    params = Latta09Params(kappa=0.002)
    L, K = space.num_ladders, space.num_m
    row = {"N": n, "spin": spin, "L": L, "K": K, "tail": space.tail_weight}
    row["est IE MiB"] = ImplicitEuler().nbytes(L, K, len(DWELLS)) / 2**20
    row["est modes MiB"] = RelaxationModes().nbytes(L, K, len(DWELLS)) / 2**20
    dets = np.linspace(3.0, -3.0, 121)

    def stat(shift):
        return jax.block_until_ready(detuning_scan(params, space, dets + shift).absorption)

    t0 = time.perf_counter()
    stat(0.0)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    stat(0.0125)
    row["stat run s"] = time.perf_counter() - t0
    row["stat compile s"] = max(first - row["stat run s"], 0.0)
    d = scan_detunings(1.2, 1.2 - 0.4 * (steps - 1), 0.4)
    dw = jnp.asarray(DWELLS)

    def run(prop, shift):
        s = drag(params, space, d + shift, dw, propagator=prop)
        jax.block_until_ready(s.absorption)
        return s

    t0 = time.perf_counter()
    run(ImplicitEuler(4), 0.0)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    s4 = run(ImplicitEuler(4), 0.01)
    dt = time.perf_counter() - t0
    row["drag compile s"] = max(first - dt, 0.0)
    row["drag s/step"] = dt / steps
    row["l1 bound"] = float(np.asarray(s4.propagation_error).sum(axis=1).max())
    if n * spin <= 50_000:  # the 4x finer reference costs 4x: not for N = 10⁵ spin 3/2
        s16 = run(ImplicitEuler(16), 0.01)
        row["dabs x4 ueV"] = float(np.abs(np.asarray(s16.absorption - s4.absorption)).max())
    else:
        row["dabs x4 ueV"] = float("nan")
    row["peak RSS MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def _baseline(n: int, steps: int) -> dict:
    import jax
    import jax.numpy as jnp

    from jaxspin.latta09 import (
        DickeSpace,
        ImplicitEuler,
        Latta09Params,
        RelaxationModes,
        drag,
        scan_detunings,
    )

    space = DickeSpace(n, tail=TAIL)
    params = Latta09Params(kappa=0.002)
    d = scan_detunings(1.2, 1.2 - 0.4 * (steps - 1), 0.4)
    dw = jnp.asarray(DWELLS) * (n / 100_000) ** 2  # the same physics, on N's time axis
    out = {"N": n, "L": space.num_ladders, "K": space.num_m}
    scans = {}
    for name, prop in (("modes", RelaxationModes()), ("IE(4)", ImplicitEuler(4))):
        jax.block_until_ready(drag(params, space, d, dw, propagator=prop).absorption)
        t0 = time.perf_counter()
        scans[name] = drag(params, space, d + 0.01, dw, propagator=prop)
        jax.block_until_ready(scans[name].absorption)
        out[f"{name} s/step"] = (time.perf_counter() - t0) / steps
    out["modes / IE"] = out["modes s/step"] / out["IE(4) s/step"]
    diff = np.asarray(scans["IE(4)"].absorption - scans["modes"].absorption)
    out["max |Δabs| ueV"] = float(np.abs(diff).max())
    return out


def _subprocess(kind: str, *args) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="N = 10⁴ only")
    parser.add_argument("--steps", type=int, default=4, help="dragging steps timed")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "one":
            row = _one(int(rest[0]), float(rest[1]), int(rest[2]))
        else:
            row = _baseline(int(rest[0]), int(rest[1]))
        print(json.dumps(row))
        return
    print(f"Latta09 large baths — {machine()}")
    sizes = (10_000,) if args.quick else (10_000, 100_000)
    rows = [_subprocess("one", n, s, args.steps) for n in sizes for s in (0.5, 1.5)]
    print_table(rows, "homogeneous Dicke model, ImplicitEuler(4), dwells 0.2/1/5 s, step 0.4 µeV")
    base = [_subprocess("baseline", n, args.steps) for n in (1000, 2000)]
    print_table(base, "baseline in this run: exact RelaxationModes vs ImplicitEuler(4), spin ½")


if __name__ == "__main__":
    main()
