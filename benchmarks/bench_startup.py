"""Time to first result: ``jaxspin figures`` per paper, cold vs warm persistent cache (issue 15).

For each paper key, in this run, three fresh processes of
``python -m jaxspin figures --only KEY --quiet`` (each its own output folder):

- ``no cache``: ``JAXSPIN_COMPILATION_CACHE=0`` (what every run cost before the cache);
- ``cold``: the cache on, in an empty folder (first run on a machine: compiles and writes);
- ``warm``: the same folder again (a second run: reads the compiled programs back).

``warm/cold`` is the issue's goal (a second ``jaxspin figures`` at ≤ 40 % of the first).
Wall time of the whole process (interpreter start, imports, figures, plotting).

Run: ``python benchmarks/bench_startup.py [--only KEY ...] [--no-baseline]``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import machine, print_table
except ImportError:  # pragma: no cover
    from _common import machine, print_table


PAPERS = ("danon11", "smirnov24", "latta09", "deluca16", "gong11")


def _figures(key: str, out: Path, env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "jaxspin", "figures", "--only", key, "--out", str(out), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"jaxspin figures --only {key} failed:\n{proc.stderr[-3000:]}")
    return dt


def run(quick: bool = False, keys=PAPERS, baseline: bool = True) -> list[dict]:
    del quick  # the default (small) figures are already the quick size
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            base = {k: v for k, v in os.environ.items() if k != "JAXSPIN_COMPILATION_CACHE"}
            cache = Path(tmp) / f"cache-{key}"
            env = {**base, "JAXSPIN_CACHE_DIR": str(cache)}
            row = {"paper": key}
            if baseline:
                off = {**env, "JAXSPIN_COMPILATION_CACHE": "0"}
                row["no cache [s]"] = _figures(key, Path(tmp) / f"{key}-off", off)
            row["cold [s]"] = _figures(key, Path(tmp) / f"{key}-cold", env)
            row["warm [s]"] = _figures(key, Path(tmp) / f"{key}-warm", env)
            row["warm/cold"] = row["warm [s]"] / row["cold [s]"]
            size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
            row["cache [MB]"] = size / 1e6
            rows.append(row)
            print_table([row])
    if len(rows) > 1:
        total = {"paper": "all"}
        for col in rows[0]:
            if col.endswith("[s]") or col.endswith("[MB]"):
                total[col] = sum(r[col] for r in rows)
        total["warm/cold"] = total["warm [s]"] / total["cold [s]"]
        rows.append(total)
    print(f"machine: {machine()}")
    print_table(rows, "jaxspin figures: cold vs warm persistent compilation cache")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PAPERS, default=list(PAPERS))
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-cache run")
    args = parser.parse_args()
    run(keys=args.only, baseline=not args.no_baseline)
