"""Hang stress test: every workload that ever deadlocked, run many times in fresh processes.

jaxlib 0.10's CPU LAPACK kernels split a batch into tasks on XLA's intra-op thread pool and
wait for them (``ParallelBatchMap`` → ``absl::BlockingCounter::Wait``); two such calls running
at once on a 2-thread pool wait for each other for good. jaxspin pins jaxlib below 0.10
(``pyproject.toml``), whose ``_lapack.so`` has no such fan-out. This script is the proof:
each workload below once hung on the 2-core machine; each is run ``--runs`` times, each time
in a new Python process with a wall-clock limit, and the script prints ``hangs = k / N``
per workload. A run past its limit that used no CPU for 3 s is a hang (a deadlock waits);
one past its limit but still computing, or one that exits non-zero, is an error.

    python benchmarks/stress.py                       # 30 runs of each workload
    python benchmarks/stress.py --runs 10 --only lax_map_remainder
    python benchmarks/stress.py --python /other/venv/bin/python   # another dependency set

Exit status 1 if any run hung or failed. A run's own output is kept only when it failed
(``--log DIR`` keeps all of them).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


# --- the workloads (each runs in a fresh process: ``stress.py --worker NAME``) -----------
def deluca16_d_figure() -> None:
    """The figure that hung a fresh `jaxspin figures` run: DeLuca16 P_n vs D (N = 8)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "deluca16_example", ROOT / "examples" / "deluca16.py"
    )
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    with tempfile.TemporaryDirectory() as out:
        ex.fig_d_dependence(Path(out), ex.SIZES["small"], progress=False)


def lapack_sharded() -> None:
    """A LAPACK kernel (16 x 16 complex LU solve) swept over 2 CPU devices, 1e4 points in
    blocks of 256: the two devices' batched LU calls run at once (jaxlib 0.10: hangs)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxspin

    assert len(jax.devices()) == 2, jax.devices()

    def kernel(a, b):
        m = jnp.eye(16) * (3.0 + a) + b * jnp.cos(jnp.arange(256.0).reshape(16, 16))
        m = m + 1j * jnp.sin(a * jnp.arange(256.0).reshape(16, 16)) / 16
        return jnp.abs(jnp.linalg.solve(m, jnp.ones(16, complex))).sum()

    grid = {"a": np.linspace(0, 1, 100), "b": np.linspace(0, 1, 100)}
    for _ in range(5):
        jaxspin.sweep(kernel, grid, progress=False)


def _eighs(x, sizes):
    """Lowest eigenvalues of independent symmetric matrices of the given sizes: XLA runs
    the independent ``eigh`` calls concurrently on its CPU thread pool."""
    import jax.numpy as jnp

    out = 0.0
    for n in sizes:
        m = jnp.cos(x * jnp.arange(n * n * 1.0).reshape(n, n))
        out = out + jnp.linalg.eigh(m + m.T + 2 * n * jnp.eye(n))[0][0]
    return out


def lax_map_remainder() -> None:
    """``lax.map`` with a remainder block (12 points in blocks of 8) over 40 independent
    ``eigh`` calls per point (sizes 8-67, like DeLuca16's sectors)."""
    import jax
    import jax.numpy as jnp

    import jaxspin  # noqa: F401  (x64)

    sizes = [8 + (13 * i) % 60 for i in range(40)]
    f = jax.jit(lambda xs: jax.lax.map(lambda x: _eighs(x, sizes), xs, batch_size=8))
    for i in range(10):
        f(jnp.linspace(0.1, 1.0, 12) + i).block_until_ready()


def implicit_ode_loop() -> None:
    """Implicit ODE solves (Kvaerno5: an LU per Newton step) in a ``lax.map`` loop with a
    remainder (24 points in blocks of 16), beside 30 ``eigh`` calls per point."""
    import jax
    import jax.numpy as jnp

    import jaxspin

    def one(k):
        out = 0.0
        n = 12
        idx = jnp.arange(n * n * 1.0).reshape(n, n)
        for j in range(4):
            w = jnp.abs(jnp.cos((k + j) * idx)) * 10 ** (3 * jnp.sin(j + idx))
            traj = jaxspin.ratesolve(w, jnp.ones(n) / n, jnp.linspace(0.0, 0.1, 2))
            out = out + traj.ys[-1].sum()
        return out + _eighs(k, [40] * 30)

    f = jax.jit(lambda ks: jax.lax.map(one, ks, batch_size=16))
    for i in range(2):
        f(jnp.linspace(0.5, 2.0, 24) + i).block_until_ready()


def deluca16_ensemble() -> None:
    """DeLuca16 ensemble: 12 realizations at N = 8 in blocks of 8 (hung every time once)."""
    import jax

    import jaxspin.deluca16 as dl

    models = dl.random_models(jax.random.PRNGKey(0), 8, 12, dl.table1())
    dl.steady_state(models, block_size=8).nuclear_polarization.block_until_ready()


WORKLOADS = {
    "deluca16_d_figure": (deluca16_d_figure, {}),
    "lapack_sharded_2dev": (lapack_sharded, {"JAXSPIN_CPU_DEVICES": "2"}),
    "lax_map_remainder": (lax_map_remainder, {}),
    "implicit_ode_loop": (implicit_ode_loop, {}),
    "deluca16_ensemble": (deluca16_ensemble, {}),
}


# --- the driver ---------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (all its threads), from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _idle(pid: int, window_s: float = 3.0) -> bool:
    """Whether ``pid`` used (almost) no CPU for ``window_s`` seconds: hung, not slow."""
    before = _cpu_seconds(pid)
    time.sleep(window_s)
    after = _cpu_seconds(pid)
    return before is None or after is None or after - before < 0.05 * window_s


def _versions(python: str) -> str:
    code = "import jax, jaxlib; print(jax.__version__, jaxlib.__version__)"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    return out.stdout.strip() or out.stderr.strip()[-200:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per workload (default 30)")
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), help="workloads")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds before a run counts as hung"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to run")
    parser.add_argument("--log", help="directory for every run's stdout/stderr")
    parser.add_argument("--worker", choices=sorted(WORKLOADS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        fn, _ = WORKLOADS[args.worker]
        fn()
        return 0

    names = args.only or list(WORKLOADS)
    log = Path(args.log) if args.log else None
    if log:
        log.mkdir(parents=True, exist_ok=True)
    jax_v = _versions(args.python)
    print(f"# stress: {args.runs} fresh processes per workload, limit {args.timeout:g} s")
    print(f"# python {args.python}; jax, jaxlib {jax_v}; {os.cpu_count()} CPUs")
    print("| workload | hangs | errors | median s | max s |")
    print("|---|---|---|---|---|")
    bad = 0
    for name in names:
        _, env_extra = WORKLOADS[name]
        env = {**os.environ, "JAXSPIN_PROGRESS": "0", **env_extra}
        env.pop("XLA_FLAGS", None)
        hangs = errors = 0
        times = []
        for run in range(args.runs):
            cmd = [args.python, str(Path(__file__).resolve()), "--worker", name]
            t0 = time.perf_counter()
            # A new session, so that a hung run and all its threads die with the group.
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                text=True,
            )
            try:
                text, _ = proc.communicate(timeout=args.timeout)
                status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
            except subprocess.TimeoutExpired:
                # Over the limit: a hang if it sits idle (a deadlock waits, it does not spin),
                # otherwise only slow (a busy machine), which counts as an error.
                status = "hang" if _idle(proc.pid) else "timeout while busy"
                os.killpg(proc.pid, 9)
                text, _ = proc.communicate()
            dt = time.perf_counter() - t0
            if status == "hang":
                hangs += 1
            elif status != "ok":
                errors += 1
            else:
                times.append(dt)
            if log or status != "ok":
                where = log or Path(tempfile.gettempdir())
                path = where / f"stress_{name}_{run}.log"
                path.write_text(text or "")
                if status != "ok":
                    print(f"#   {name} run {run}: {status} after {dt:.1f} s (output: {path})")
            sys.stderr.write(f"\r{name}: {run + 1}/{args.runs} ({hangs} hung, {errors} failed)")
            sys.stderr.flush()
        sys.stderr.write("\n")
        bad += hangs + errors
        med = f"{statistics.median(times):.1f}" if times else "-"
        mx = f"{max(times):.1f}" if times else "-"
        print(f"| {name} | hangs = {hangs} / {args.runs} | {errors} | {med} | {mx} |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
