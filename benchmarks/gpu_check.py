"""GPU check: CPU-vs-GPU agreement of the main kernels, and the GPU speed rows.

Meant for one lent NVIDIA GPU (``bash benchmarks/gpu.sh``, at most 8 minutes in all);
``--small`` runs the same code paths at tiny sizes, on the CPU too (then "GPU" is JAX's
default device, i.e. the CPU again, and the speed targets do not apply).

Rows (each in its own subprocess with a time limit, so one slow or hung row cannot take
the others down; a row that runs out of time is reported as such, and the rows that can
measure a rate on part of their work stop at 80 % of their limit and report that rate):

- ``agree_engine``, ``agree_papers``: the engine steady state (unrolled and LAPACK LU),
  ``relaxation_rates`` and every paper's main kernel computed on ``jax.devices("cpu")[0]``
  and on the GPU (``jax.default_device``), outputs compared: ``max |cpu - gpu| / max |cpu|``
  per output, target ≤ 1e-10; the note names the platforms the outputs came from. On the
  GPU ``relaxation_rates`` runs the device QR algorithm of ``jaxspin/_eigvals.py``, on the
  CPU LAPACK ``geev``: that row compares two algorithms.
- ``sweep``: a 1e8-point steady-state sweep of the 3-level trion model of
  ``bench_engine.py`` through ``jaxspin.sweep`` (chunks of 2**23 points, blocks of 2**20,
  results on the host), points/s, target ≥ 1e8/s. Past its time guard the sweep is stopped
  from ``on_chunk`` and the rate is that of the chunks after the first.
- ``vmap``: the same 1e8 points as ``jit(vmap(point))`` over chunks of 2**22 whose grid is
  built on the device (the kernel's own rate, no host-side coordinates), results copied
  to the host.
- ``mc``: Smirnov24 Monte Carlo samples/s of ``overhauser_mc`` on the integrand of
  Eq. (S12) (``bench_smirnov24.py``), chunks of 2**24, a run of about 3 s sized from a
  one-chunk pilot; target ≥ 1e8/s.
- ``latta09``: the 200 × 200 polarization map at N = 1000 (``bench_latta09.py``), run time
  after compilation, target < 2 s.
- ``gong11``: D(x, y) at the 8.9e5 sites of the 300-nm domain (``bench_gong11.py``),
  target < 5 s.
- ``deluca16``: one realization of the full pipeline (``bench_deluca16.py``) at N = 12,
  13, ... until the memory check refuses the next N or its predicted time exceeds what is
  left of the row's limit; reports the largest N done.

Timing as in ``_common.py``: first call (compile) reported apart, then the median of the
repeats with ``jax.block_until_ready``. Output: one markdown table (row, value, target,
pass) on stdout and, if ``$OUT`` is set, in ``$OUT/gpu_check.md`` (and ``.json``).

Run: ``python benchmarks/gpu_check.py [--small] [--only sweep mc ...] [--budget 450]``.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path


_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # the bench_* modules, also when run from elsewhere
    sys.path.insert(0, str(_HERE))


# ------------------------------------------------------------------------------ helpers
class _OutOfTime(Exception):
    """Raised from a progress callback to stop a row at its time guard."""


def _row_budget() -> float:
    """Seconds this row may run (set by the driver for each row's subprocess)."""
    return float(os.environ.get("GPU_CHECK_ROW_BUDGET", "60"))


def _devices():
    """(cpu, gpu): ``gpu`` is JAX's default device (the CPU when there is no GPU)."""
    import jax

    return jax.devices("cpu")[0], jax.devices()[0]


def _row(row: str, value: str, target: str, ok, note: str = "") -> dict:
    return {"row": row, "value": value, "target": target, "pass": ok, "note": note}


def _speed_ok(ok: bool):
    """Speed targets are for the GPU: on the CPU (``--small``) they are not judged."""
    _, gpu = _devices()
    return bool(ok) if gpu.platform != "cpu" else "n/a (cpu)"


def _max_rel_diff(a, b) -> float:
    """``max |a - b| / max |a|`` over the leaves (NaN where both are NaN is equal; booleans
    and integers must match exactly, else inf)."""
    import jax
    import numpy as np

    worst = 0.0
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind in "biu":
            if not np.array_equal(x, y):
                return math.inf
            continue
        nan = np.isnan(x)
        if not np.array_equal(nan, np.isnan(y)):
            return math.inf
        x, y = x[~nan], y[~nan]
        if x.size:
            scale = max(float(np.max(np.abs(x))), np.finfo(float).tiny)
            worst = max(worst, float(np.max(np.abs(x - y))) / scale)
    return worst


def _on(device, fn: Callable, build: Callable):
    """``fn(*build())`` with ``device`` as JAX's default device; outputs as NumPy, and the
    platforms they were computed on."""
    import jax
    import numpy as np

    with jax.default_device(device):
        out = jax.block_until_ready(fn(*build()))
    platforms = {d.platform for leaf in jax.tree.leaves(out) for d in leaf.devices()}
    return jax.tree.map(np.asarray, out), platforms


# -------------------------------------------------------------------- agreement kernels
def _agreement_cases(small: bool) -> dict[str, tuple[Callable, Callable]]:
    """name -> (jitted fn, build() -> args); each the main kernel of a paper or the engine."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxspin
    from bench_engine import _batched_trion
    from jaxspin import danon11, deluca16, gong11, latta09, smirnov24

    rng = np.random.default_rng(0)
    npts = 512 if small else 8192

    def trion_points():
        return rng.uniform(-5, 5, npts), rng.uniform(0.1, 3.0, npts)

    def steady(solver):
        def fn(d, o):
            H, W = _batched_trion(d, o)
            return jaxspin.steadystate(H, rates=W, solver=solver).rho

        return jax.jit(fn)

    points = trion_points()
    n_rates = 12 if small else 40
    W = rng.uniform(0.5, 1.5, (n_rates, n_rates)) * 10.0 ** rng.uniform(-6, 0, (n_rates,) * 2)
    np.fill_diagonal(W, 0.0)

    def spin_response(b, d):
        lind = jax.vmap(lambda b, d: danon11.DoubleDot(d, 0.3, 1.0).lindbladian(b))(b, d)
        ops = danon11.DoubleDot(0.0, 0.3, 1.0).spin_ops
        r = danon11.spin_response(lind.H, None, ops, rates=lind.rates)
        return r.S, r.chi, r.R

    def fixed_points(b):
        model = danon11.DoubleDot(
            5.0, 0.5, 1.0, coupling=10.0, num_nuclei=10.0, nuclear_relaxation=1e-3
        )
        fp = danon11.fixed_points(model, b, grid_size=65 if small else 1025)
        return fp.k_z, fp.slope, fp.valid

    taus = np.geomspace(1e-2, 1e4, 4 if small else 16)

    def optimal_field(tau):
        p = smirnov24.Parameters(tau[:, None], 1 / math.sqrt(3), 100.0, jnp.array([1e6, 1e4]))
        res = smirnov24.optimal_field(p, num_grid=32 if small else 64)
        return res.field, res.beta_max

    space = latta09.DickeSpace(40 if small else 1000, tail=1e-9)
    lat_params = latta09.Latta09Params()
    step = float(lat_params.hyperfine) / space.n_nuclei
    dets = (np.arange(11 if small else 41) - (5 if small else 20)) * step

    def latta_scan(rabi):
        q = eqx.tree_at(lambda p: p.rabi, lat_params, rabi)
        ss = latta09.detuning_scan(q, space, dets)
        return {k: getattr(ss, k) for k in latta09.MAP_OUTPUTS}

    drag_space = latta09.DickeSpace(20 if small else 60)

    def drag(detunings, dwells):
        scan = latta09.drag(latta09.Latta09Params(kappa=0.002), drag_space, detunings, dwells)
        return scan.absorption, scan.polarization

    par = deluca16.table1(U_mhz=15.0)

    def deluca(key):
        models = deluca16.random_models(key, 4 if small else 6, 4, par)
        st = deluca16.steady_state(models)
        return st.p, st.nuclear_polarization

    nb = gong11.default_neighbourhood()
    sites = gong11.SquareLattice().plane_sites(20.0 if small else 100.0)[:, :2]
    grid = gong11.DiskGrid(radius_nm=30.0 if small else 60.0, spacing_nm=3.0)
    ts = np.linspace(0.0, 1e3, 11)

    return {
        "engine steadystate, DenseLU unrolled (trion n = 3)": (
            steady(jaxspin.DenseLU()),
            lambda: points,
        ),
        "engine steadystate, DenseLU LAPACK/cuSOLVER": (
            steady(jaxspin.DenseLU(unroll_max=0)),
            lambda: points,
        ),
        "engine relaxation_rates (GPU: device QR; CPU: geev)": (
            jax.jit(lambda w: jaxspin.relaxation_rates(w, 5)),
            lambda: (W,),
        ),
        "danon11 spin_response (double dot)": (jax.jit(spin_response), lambda: points),
        "danon11 fixed_points": (jax.jit(fixed_points), lambda: (np.float64(10.0),)),
        "smirnov24 optimal_field": (jax.jit(optimal_field), lambda: (taus,)),
        "latta09 detuning_scan (map point)": (jax.jit(latta_scan), lambda: (np.float64(1.0),)),
        "latta09 drag": (
            jax.jit(drag),
            lambda: (np.linspace(-1.0, 2.0, 7), np.array([1e-4, 1e-2])),
        ),
        "deluca16 steady_state": (jax.jit(deluca), lambda: (jax.random.PRNGKey(0),)),
        "gong11 diffusion_map": (
            jax.jit(lambda d, p: gong11.diffusion_map(d, nb, p)),
            lambda: (gong11.QuantumDot(B0_T=0.2), sites),
        ),
        "gong11 overhauser_decay (Krylov)": (
            jax.jit(lambda d: gong11.overhauser_decay(d, ts, grid=grid)),
            lambda: (gong11.QuantumDot(B0_T=2.0),),
        ),
    }


# --------------------------------------------------------------------------------- rows
_ENGINE_CASES = ("engine", "danon11", "smirnov24")  # the rest: latta09, deluca16, gong11


def _agreement(args, engine: bool) -> Iterator[dict]:
    cpu, gpu = _devices()
    for name, (fn, build) in _agreement_cases(args.small).items():
        if name.startswith(_ENGINE_CASES) != engine:
            continue
        t0 = time.perf_counter()
        try:
            ref, p_ref = _on(cpu, fn, build)
            got, p_got = _on(gpu, fn, build)
        except Exception as err:  # one kernel's failure is a failed row, not a lost table
            why = f"{type(err).__name__}: {err}"[:200]
            yield _row(f"agree: {name}", "error", "<= 1e-10", False, why)
            continue
        diff = _max_rel_diff(ref, got)
        where = f"{'+'.join(sorted(p_ref))} vs {'+'.join(sorted(p_got))}"
        note = f"{where}, {time.perf_counter() - t0:.1f} s"
        yield _row(f"agree: {name}", f"{diff:.2e}", "<= 1e-10", bool(diff <= 1e-10), note)


def row_agree_engine(args) -> Iterator[dict]:
    return _agreement(args, engine=True)


def row_agree_papers(args) -> Iterator[dict]:
    return _agreement(args, engine=False)


def _grid_side(small: bool) -> int:
    return 100 if small else 10_000  # 1e4 or 1e8 points


def row_sweep(args) -> Iterator[dict]:
    import numpy as np

    import jaxspin
    from _common import SweepLog
    from bench_engine import point_jaxspin

    side = _grid_side(args.small)
    grid = {"delta": np.linspace(-5.0, 5.0, side), "omega": np.linspace(0.1, 3.0, side)}
    chunk, block = (2**10, None) if args.small else (2**23, 2**20)
    guard = _row_budget() * 0.8  # stop after this many seconds, keep the rate measured
    t0 = time.perf_counter()
    done = []  # (time, chunk index) after each stored chunk

    def on_chunk(i, n_chunks):
        done.append((time.perf_counter(), i))
        if time.perf_counter() - t0 > guard and 0 < i < n_chunks - 1:
            raise _OutOfTime

    with SweepLog() as log:
        try:
            res = jaxspin.sweep(
                point_jaxspin,
                grid,
                chunk_size=chunk,
                block_size=block,
                progress=False,
                on_chunk=on_chunk,
            )
            run_s, complete = log.run_s, True
        except _OutOfTime:
            complete = False
    n_chunks = -(-side * side // chunk)
    if complete:
        rate = side * side / run_s
        finite = bool(np.all(np.isfinite(res.values)))
        note = f"run {run_s:.2f} s, compile {log.compile_s:.1f} s, {log.devices} device(s)"
    else:  # chunks 2..k: steady throughput, compile and first-chunk latency excluded
        (ta, _), (tb, k) = done[0], done[-1]
        rate = (k * chunk) / (tb - ta) if k > 0 else math.nan
        finite = True
        note = f"time guard: stopped after {k + 1} of {n_chunks} chunks"
    yield _row(
        f"sweep: {side * side:.0e}-point steady state, jaxspin.sweep",
        f"{rate:.3g} points/s",
        ">= 1e8 points/s",
        _speed_ok(rate >= 1e8 and finite),
        f"{note}, chunk {chunk}, block {block}, wall {time.perf_counter() - t0:.1f} s, "
        f"finite {finite}",
    )


def row_vmap(args) -> Iterator[dict]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from bench_engine import point_jaxspin

    side = _grid_side(args.small)
    chunk = 2**12 if args.small else 2**22
    n = side * side
    n_chunks = -(-n // chunk)

    @jax.jit
    def one_chunk(i):
        flat = jnp.minimum(i * chunk + jnp.arange(chunk), n - 1)
        delta = -5.0 + 10.0 * (flat // side) / (side - 1)
        omega = 0.1 + 2.9 * (flat % side) / (side - 1)
        return jax.vmap(point_jaxspin)(delta, omega)

    t0 = time.perf_counter()
    first = np.asarray(one_chunk(0))  # compile
    compile_s = time.perf_counter() - t0
    guard = _row_budget() * 0.8 - compile_s
    t1 = time.perf_counter()
    outs = [one_chunk(i) for i in range(n_chunks)]  # dispatched asynchronously
    host = []
    for o in outs:  # copy back in order; stop (and keep the rate) past the guard
        host.append(np.asarray(o))
        if time.perf_counter() - t1 > guard:
            break
    run_s = time.perf_counter() - t1
    points = min(len(host) * chunk, n)
    rate = points / run_s
    finite = bool(np.all(np.isfinite(np.concatenate(host)))) and bool(np.isfinite(first).all())
    guarded = "" if len(host) == n_chunks else f", time guard: {len(host)} of {n_chunks} chunks"
    yield _row(
        f"vmap: {n:.0e}-point steady state, jit(vmap) chunks, grid on device",
        f"{rate:.3g} points/s",
        ">= 1e8 points/s",
        _speed_ok(rate >= 1e8 and finite),
        f"run {run_s:.2f} s (results to host incl.), compile {compile_s:.1f} s, chunk {chunk}"
        f"{guarded}, finite {finite}",
    )


def row_mc(args) -> Iterator[dict]:
    import jax

    from _common import time_jax
    from bench_smirnov24 import _mc_integrand
    from jaxspin import OverhauserField, overhauser_mc

    chunk = 2**12 if args.small else 2**24
    dist = OverhauserField(1.0, 0.0, 0.5)

    def timed(n, repeats):
        fn = jax.jit(lambda k: overhauser_mc(_mc_integrand, dist, k, n, chunk_size=chunk).value)
        return time_jax(fn, jax.random.key(0), repeats=repeats)

    # A one-chunk pilot sets the main run's size: about 3 s, between 1 and 64 chunks.
    _, pilot_s = timed(chunk, 1)
    n = chunk * int(min(max(3.0 / max(pilot_s, 1e-9), 1), 64))
    compile_s, run_s = timed(n, 2)
    rate = n / run_s
    yield _row(
        "smirnov24: Monte Carlo (S12) samples/s",
        f"{rate:.3g} samples/s",
        ">= 1e8 samples/s",
        _speed_ok(rate >= 1e8),
        f"{n:.3g} samples, chunk {chunk}, run {run_s:.2f} s, compile {compile_s:.1f} s",
    )


def row_latta09(args) -> Iterator[dict]:
    from _common import SweepLog
    from bench_latta09 import _map_grid
    from jaxspin.latta09 import DickeSpace, Latta09Params, polarization_map

    n, side = (100, 20) if args.small else (1000, 200)
    space, params = DickeSpace(n, tail=1e-9), Latta09Params()
    dets, rabis = _map_grid(side, side, float(params.hyperfine) / n)
    with SweepLog() as log:
        t0 = time.perf_counter()
        polarization_map(params, space, dets, rabis, progress=False)
        wall = time.perf_counter() - t0
    yield _row(
        f"latta09: {side}x{side} polarization map, N = {n}",
        f"{log.run_s:.2f} s",
        "< 2 s",
        _speed_ok(log.run_s < 2.0),
        f"run after compile; compile {log.compile_s:.1f} s, wall {wall:.1f} s",
    )


def row_gong11(args) -> Iterator[dict]:
    import jax
    import jax.numpy as jnp

    from _common import time_jax
    from jaxspin.gong11 import QuantumDot, SquareLattice, default_neighbourhood, diffusion_map

    radius = 30.0 if args.small else 300.0
    nb = default_neighbourhood()
    sites = jnp.asarray(SquareLattice().plane_sites(radius)[:, :2])
    fn = jax.jit(lambda d, p: diffusion_map(d, nb, p))
    compile_s, run_s = time_jax(fn, QuantumDot(B0_T=0.2), sites, repeats=2)
    yield _row(
        f"gong11: D(x, y) at {sites.shape[0]:.3g} sites (radius {radius:g} nm)",
        f"{run_s:.3f} s",
        "< 5 s",
        _speed_ok(run_s < 5.0),
        f"compile {compile_s:.1f} s",
    )


def row_deluca16(args) -> Iterator[dict]:
    import jax

    import jaxspin.deluca16 as dl
    from _common import time_jax
    from jaxspin import MemoryBudgetError

    start = time.perf_counter()
    params = dl.table1(U_mhz=15.0)
    steady = lambda m: dl.steady_state(m).nuclear_polarization
    n_spins, stop = (3, 5) if args.small else (12, 20)
    predicted = 0.0
    while n_spins <= stop:
        if predicted > _row_budget() * 0.9 - (time.perf_counter() - start):
            print(f"deluca16: N = {n_spins} would take ~{predicted:.0f} s: stop", flush=True)
            break
        models = dl.random_models(jax.random.PRNGKey(0), n_spins, 1, params)
        try:
            compile_s, run_s = time_jax(steady, models, repeats=1)
        except MemoryBudgetError as err:
            print(f"deluca16: N = {n_spins} refused: {err}", flush=True)
            break
        # next N: twice the states, ~8x the dense work; compile time grows slowly
        predicted = 1.5 * compile_s + 8 * 2 * run_s
        yield _row(
            f"deluca16: largest N done ({2 ** (n_spins + 1)} states, 1 realization)",
            f"N = {n_spins}: {run_s:.2f} s",
            "N >= 12 (paper)",
            _speed_ok(n_spins >= 12),
            f"compile {compile_s:.1f} s",
        )
        n_spins += 1


# row name -> (function, time limit [s] on the GPU); the limits add up to 420 s
ROWS: dict[str, tuple[Callable, float]] = {
    "agree_engine": (row_agree_engine, 60.0),
    "agree_papers": (row_agree_papers, 60.0),
    "sweep": (row_sweep, 55.0),
    "vmap": (row_vmap, 40.0),
    "mc": (row_mc, 30.0),
    "latta09": (row_latta09, 55.0),
    "gong11": (row_gong11, 35.0),
    "deluca16": (row_deluca16, 85.0),
}
_LAST_ONLY = {"deluca16"}  # rows of which only the last printed result counts


# -------------------------------------------------------------------------- the driver
def _run_child(name: str, args, limit: float) -> tuple[list[dict], str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--row", name]
    if args.small:
        cmd.append("--small")
    env = dict(os.environ, PYTHONUNBUFFERED="1", GPU_CHECK_ROW_BUDGET=f"{limit:.0f}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
        out, err, status = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        decode = lambda s: s.decode(errors="replace") if isinstance(s, bytes) else (s or "")
        out, err, status = decode(e.stdout), decode(e.stderr), f"timeout after {limit:.0f} s"
    rows = [json.loads(line[4:]) for line in out.splitlines() if line.startswith("ROW ")]
    for line in out.splitlines():
        if not line.startswith("ROW "):
            print(f"  [{name}] {line}")
    if status != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])[-300:]
        print(f"  [{name}] status {status}; stderr: {tail}", flush=True)
    last = (err.strip().splitlines() or [""])[-1]
    return rows, ("" if status == 0 else f"{status}" + (f": {last}" if last else ""))


def _table(rows: list[dict]) -> str:
    fmt = lambda v: "yes" if v is True else "NO" if v is False else str(v)
    lines = ["| row | value | target | pass | note |", "|---|---|---|---|---|"]
    for r in rows:
        cells = [r["row"], r["value"], r["target"], fmt(r["pass"]), r.get("note", "")]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def drive(args) -> int:
    deadline = time.monotonic() + args.budget
    header = _header()  # first: the table must not wait for it at the end
    print(header, flush=True)
    rows: list[dict] = []
    names = args.only or list(ROWS)
    for name in names:
        left = deadline - time.monotonic()
        limit = min(ROWS[name][1] * (3.0 if args.small else 1.0), left - 2.0)
        if limit < 10.0:
            rows.append(_row(name, "skipped", "", False, "time budget of the check used up"))
            continue
        print(f"row {name}: limit {limit:.0f} s", flush=True)
        t0 = time.monotonic()
        got, failure = _run_child(name, args, limit)
        if name in _LAST_ONLY:
            got = got[-1:]
        if failure:
            got.append(_row(name, "failed", "", False, failure[:300]))
        rows.extend(got)
        print(f"row {name}: {time.monotonic() - t0:.1f} s", flush=True)
    table = _table(rows)
    print(f"\n{header}\n\n{table}")
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        Path(out, "gpu_check.md").write_text(f"{header}\n\n{table}\n")
        Path(out, "gpu_check.json").write_text(json.dumps(rows, indent=1))
    return 0 if all(r["pass"] is not False for r in rows) else 1


def _header() -> str:
    code = (
        "import jax, platform; d = jax.devices()[0]; "
        "print(f'jax {jax.__version__}, {d.platform}: {d.device_kind} x{len(jax.devices())}, "
        "python {platform.python_version()}')"
    )
    try:
        info = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except subprocess.TimeoutExpired:
        info = "device query timed out"
    return f"GPU check ({info}), {time.strftime('%Y-%m-%d %H:%M')}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", "--dry-run", action="store_true", help="tiny sizes (CPU)")
    parser.add_argument("--only", nargs="+", choices=list(ROWS), help="run these rows only")
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for all rows")
    parser.add_argument("--row", choices=list(ROWS), help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args(argv)
    if args.row is None:
        return drive(args)
    import jaxspin  # noqa: F401  (x64 before any JAX work)

    for result in ROWS[args.row][0](args):
        print("ROW " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
