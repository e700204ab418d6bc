"""Shared timing and reporting helpers for the benchmark scripts (one copy, used by all).

Method: a function is called once to compile (that wall time, minus one run, is reported as
compile time), then timed ``repeats`` times with ``jax.block_until_ready``; the median is
the run time. Baselines are timed in the same process, with the same thread settings, so
ratios are meaningful; ``machine()`` records what ran.
"""

import logging
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax

from jaxspin._watchdog import heartbeat


def machine() -> str:
    """One line naming the device, CPU count and thread settings."""
    dev = jax.devices()[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = {
        k: os.environ[k]
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS")
        if k in os.environ
    }
    return (
        f"{platform.processor() or platform.machine()}, {cpus} usable CPUs, "
        f"JAX {jax.__version__} on {dev.platform}:{dev.device_kind} x{len(jax.devices())}, "
        f"threads {threads or 'default'}"
    )


def time_jax(fn: Callable[..., Any], *args, repeats: int = 5) -> tuple[float, float]:
    """``(compile_seconds, median_run_seconds)`` of a jitted ``fn(*args)``."""
    heartbeat(f"benchmark {getattr(fn, '__name__', 'function')}")
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - t0)
        heartbeat()
    run = statistics.median(runs)
    return max(first - run, 0.0), run


def time_python(fn: Callable[..., Any], *args, repeats: int = 3) -> float:
    """Median wall time of a plain (NumPy/SciPy/QuTiP) call."""
    runs = []
    for _ in range(repeats):
        heartbeat(f"baseline {getattr(fn, '__name__', 'function')}")
        t0 = time.perf_counter()
        fn(*args)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def print_table(rows: list[dict], title: str = "") -> None:
    """Print rows (dicts with the same keys) as an aligned text table."""
    if title:
        print(f"\n{title}")
    if not rows:
        return
    cols = list(rows[0])
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    width = {c: max(len(c), *(len(fmt(r.get(c, ""))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(fmt(r.get(c, "")).ljust(width[c]) for c in cols))


class SweepLog(logging.Handler):
    """Collect the compile and run times that ``jaxspin.sweep`` logs (it compiles per call)."""

    def __enter__(self):
        self.logger = logging.getLogger("jaxspin.sweep")
        self.old_level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.old_level)

    def emit(self, record):
        _, _, self.run_s, self.devices, _, self.compile_s = record.args
