"""Where the time of ``jaxspin figures`` goes, per paper (issue 15 item 4).

Runs each paper's ``make_figures`` (small size) in a fresh process without the persistent
cache and splits its wall time with JAX's own monitoring events and a timer around
matplotlib's ``savefig``:

- ``trace``: Python tracing to jaxprs (``/jax/core/compile/jaxpr_trace_duration``, summed
  over every trace: a trace nested in another counts in both, so this is an upper bound
  and may overlap ``lower``/``compile`` of programs compiled while tracing);
- ``lower``: jaxpr → StableHLO (``jaxpr_to_mlir_module_duration``);
- ``compile``: XLA compilation (``backend_compile_duration``), with the number of programs
  and how many of them JAX did not put in the (empty, enabled) persistent cache: programs
  that carry host callbacks (``eqx.error_if`` run-time checks), and repeats of one key;
- ``savefig``: rendering and writing the PNGs;
- ``trace+run+host``: the total minus lower, compile and savefig: tracing, running the
  compiled kernels, host NumPy, imports of the example module.

Run: ``python benchmarks/profile_figures.py [--only KEY ...]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


try:  # the benchmarks run both as `python benchmarks/x.py` and as jaxspin.benchmarks.x
    from ._common import machine, print_table
except ImportError:  # pragma: no cover
    from _common import machine, print_table


PAPERS = ("danon11", "smirnov24", "latta09", "deluca16", "gong11")

CHILD = r"""
import json, sys, time
import jaxspin
import jax
from jax import monitoring
import matplotlib
matplotlib.use("Agg")
from matplotlib.figure import Figure

key, out = sys.argv[1], sys.argv[2]
acc = {"trace": 0.0, "lower": 0.0, "compile": 0.0, "programs": 0, "savefig": 0.0}
names = {
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
    "/jax/core/compile/jaxpr_trace_duration": "trace",
}

def on_duration(event, seconds, **kw):
    if event in names:
        acc[names[event]] += seconds
        acc["programs"] += event.endswith("backend_compile_duration")

monitoring.register_event_duration_secs_listener(on_duration)

save = Figure.savefig
def timed_save(self, *a, **k):
    t0 = time.perf_counter()
    try:
        return save(self, *a, **k)
    finally:
        acc["savefig"] += time.perf_counter() - t0
Figure.savefig = timed_save

import importlib
t0 = time.perf_counter()
module = importlib.import_module(f"jaxspin.examples.{key}")
module.make_figures(out, progress=False)
acc["total"] = time.perf_counter() - t0
print("PROFILE " + json.dumps(acc))
"""


def profile(key: str, tmp: str) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # the cache on in an empty folder: JAX then says which programs it cannot write
    env["JAXSPIN_COMPILATION_CACHE"] = os.path.join(tmp, f"cache-{key}")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, key, os.path.join(tmp, key)],
        env=env,
        capture_output=True,
        text=True,
    )
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROFILE ")]
    if proc.returncode != 0 or not line:
        raise SystemExit(f"{key} failed:\n{proc.stderr[-3000:]}")
    acc = json.loads(line[-1][len("PROFILE ") :])
    written = len(list(Path(env["JAXSPIN_COMPILATION_CACHE"]).glob("*-cache")))
    total = acc["total"]
    parts = acc["lower"] + acc["compile"] + acc["savefig"]
    return {
        "paper": key,
        "total [s]": total,
        "trace [s]": acc["trace"],
        "lower [s]": acc["lower"],
        "compile [s]": acc["compile"],
        "programs": acc["programs"],
        "not cached": acc["programs"] - written,
        "savefig [s]": acc["savefig"],
        "trace+run+host [s]": total - parts,
    }


def run(quick: bool = False, keys=PAPERS) -> list[dict]:
    del quick
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for key in keys:
            rows.append(profile(key, tmp))
            print_table(rows[-1:])
    print(f"machine: {machine()}")
    print_table(rows, "jaxspin figures (small), where the time goes")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PAPERS, default=list(PAPERS))
    run(keys=parser.parse_args().only)
