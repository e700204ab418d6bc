"""The sweep layer: results equal a direct vmap, labels, files, memory refusals,
checkpoint/resume, and identical numbers sharded over 4 CPU devices.

The kernel is a 3x3 real linear solve whose matrix is built from the coordinates in an
asymmetric way, so any mix-up of axes, points or padding changes the numbers.
"""

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin._memory import MemoryBudgetError
from jaxspin._sweep import sweep
from jaxspin._sweep_result import SweepResult, load_sweep


def kernel(a, b, c=0.25):
    """Solve M x = r for a 3x3 M(a, b) (diagonally dominant, so regular) with the adjugate:
    no LAPACK call."""
    m = jnp.array([[4.0 + a, b, c], [a * b, 5.0, -a], [c, jnp.sin(b), 6.0 + a * a]])
    r = jnp.array([1.0, a, jnp.cos(b)])
    cols = [jnp.cross(m[1], m[2]), jnp.cross(m[2], m[0]), jnp.cross(m[0], m[1])]
    x = (r[0] * cols[0] + r[1] * cols[1] + r[2] * cols[2]) / jnp.dot(m[0], cols[0])
    return {"x": x, "energy": jnp.exp(-a) * jnp.dot(x, r)}


def numpy_solve(a, b, c=0.25):
    """The same x, independently: numpy.linalg.solve point by point."""
    m = np.array([[4.0 + a, b, c], [a * b, 5.0, -a], [c, np.sin(b), 6.0 + a * a]])
    return np.linalg.solve(m, np.array([1.0, a, np.cos(b)]))


class Outputs(eqx.Module):
    x: jax.Array
    norm: jax.Array


A = np.linspace(-1.0, 1.0, 23)
B = np.linspace(0.0, 3.0, 17)


def direct(fn, a, b):
    """The same points by hand: meshgrid (ij order) and one plain jax.vmap."""
    aa, bb = np.meshgrid(a, b, indexing="ij")
    out = jax.vmap(fn)(jnp.asarray(aa.ravel()), jnp.asarray(bb.ravel()))
    return jax.tree.map(lambda v: np.asarray(v).reshape(aa.shape + v.shape[1:]), out)


def assert_matches_vmap(actual, desired):
    """A sweep and a direct vmap are different XLA programs, fused differently: they agree
    to about one unit in the last place (measured: at most 1 ulp), not bit for bit."""
    desired = np.asarray(desired)
    np.testing.assert_allclose(actual, desired, rtol=1e-15, atol=1e-15 * np.abs(desired).max())


def test_product_equals_vmap():
    # 391 points in chunks of 50 (last one short) and blocks of 16: padding everywhere.
    r = sweep(kernel, {"a": A, "b": B}, chunk_size=50, block_size=16, progress=False)
    ref = direct(kernel, A, B)
    assert r.dims == ("a", "b") and r.shape == (23, 17)
    assert r["x"].shape == (23, 17, 3) and r["energy"].shape == (23, 17)
    assert_matches_vmap(r["x"], ref["x"])
    assert_matches_vmap(r["energy"], ref["energy"])
    # Indexing: point (i, j) is the solution at (A[i], B[j]), computed independently.
    expected = np.array([[numpy_solve(a, b) for b in B] for a in A])
    np.testing.assert_allclose(r["x"], expected, rtol=1e-13, atol=1e-15)


def test_default_options_three_coords():
    c = np.array([0.1, 0.2])
    r = sweep(kernel, {"b": B, "a": A, "c": c}, progress=False)  # keyword order != grid order
    assert r.dims == ("b", "a", "c") and r["x"].shape == (17, 23, 2, 3)
    ref = jax.vmap(jax.vmap(jax.vmap(kernel, (None, None, 0)), (0, None, None)), (None, 0, None))
    ref_x = np.asarray(ref(jnp.asarray(A), jnp.asarray(B), jnp.asarray(c))["x"])  # (b, a, c, 3)
    assert_matches_vmap(r["x"], ref_x)


def test_module_output_and_scalar_output():
    def fn(a, b):
        x = kernel(a, b)["x"]
        return Outputs(x=x, norm=jnp.linalg.norm(x))

    r = sweep(fn, {"a": A, "b": B}, chunk_size=64, progress=False)
    assert isinstance(r.values, Outputs) and isinstance(r.values.x, np.ndarray)
    assert r.output_names == ("x", "norm")
    ref = direct(kernel, A, B)["x"]
    assert_matches_vmap(r.values.x, ref)
    np.testing.assert_allclose(r["norm"], np.linalg.norm(ref, axis=-1), rtol=1e-14)

    s = sweep(lambda a: a**2 + 1, {"a": A}, progress=False)
    assert isinstance(s.values, np.ndarray) and s.output_names == ("value",)
    assert_matches_vmap(s.values, A**2 + 1)  # XLA may fuse a*a + 1 into one FMA


def test_zip_mode():
    a, b = A[:15], B[:15]
    r = sweep(kernel, {"a": a, "b": b}, product=False, chunk_size=4, block_size=3, progress=False)
    assert r.dims == ("point",) and r.shape == (15,)
    assert r.coord_dim("a") == "point"
    ref = jax.vmap(kernel)(jnp.asarray(a), jnp.asarray(b))
    assert_matches_vmap(r["x"], ref["x"])
    np.testing.assert_array_equal(r["a"], a)


def test_labels_units_repr_and_save_load(tmp_path):
    units = {"a": "T", "b": "MHz", "energy": "J"}
    r = sweep(functools.partial(kernel, c=0.3), {"a": A, "b": B}, units=units, progress=False)
    assert r.units == units and r.name == "kernel"
    assert list(r.coords) == ["a", "b"]
    np.testing.assert_array_equal(r.coords["b"], B)
    text = repr(r)
    assert "[MHz]" in text and "energy: float64[23, 17]  [J]" in text

    path = tmp_path / "sweep.npz"
    r.save(path)
    back = load_sweep(path)
    assert back.dims == r.dims and back.units == r.units and back.name == "kernel"
    for k in ("a", "b", "x", "energy"):
        np.testing.assert_array_equal(back[k], r[k])
    # The file explains itself to someone with only NumPy.
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        assert meta["outputs"]["x"]["axes"] == ["a", "b", "(x axis 0)"]
        assert meta["coords"]["b"] == {"dim": "b", "units": "MHz"}
        np.testing.assert_array_equal(f["values/energy"], r["energy"])

    single = sweep(lambda a: 2 * a, {"a": A}, units={"value": "Hz"}, progress=False)
    single.save(tmp_path / "single.npz")
    back = SweepResult.load(tmp_path / "single.npz")
    assert isinstance(back.values, np.ndarray) and back.units == {"value": "Hz"}
    np.testing.assert_array_equal(back.values, 2 * A)


def test_progress_bar(capsys, monkeypatch):
    monkeypatch.setenv("JAXSPIN_PROGRESS", "1")
    sweep(kernel, {"a": A, "b": B}, chunk_size=100, desc="demo", progress=True)
    err = capsys.readouterr().err
    assert "demo" in err and "391/391 points" in err and "points/s" in err


def test_refuses_output_that_does_not_fit(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "100M")
    big = np.linspace(0.0, 1.0, 10_000)
    # 1e8 points x ((3 + 1) float64 + 1 status byte) = 3.07 GiB; refused before any chunk.
    with pytest.raises(MemoryBudgetError, match=r"needs about 3\.07 GiB"):
        sweep(kernel, {"a": big, "b": big}, progress=False, on_chunk=pytest.fail)


def test_refuses_chunk_that_does_not_fit(monkeypatch):
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "2M")

    def fat(a):  # 256 x 256 float64 = 512 KiB per point, 8 points per block
        return jnp.sum(jnp.outer(jnp.arange(256.0) * a, jnp.arange(256.0)) ** 2)

    with pytest.raises(MemoryBudgetError, match="One chunk of sweep"):
        sweep(fat, {"a": np.arange(64.0)}, block_size=8, progress=False)
    r = sweep(fat, {"a": np.arange(64.0)}, block_size=1, progress=False)
    np.testing.assert_allclose(r.values, np.arange(64.0) ** 2 * (255 * 256 * 511 / 6) ** 2)


def test_compiles_once():
    traces = []

    def fn(a, b):
        traces.append(1)
        return kernel(a, b)

    sweep(fn, {"a": A, "b": B}, progress=False)  # one chunk
    one = len(traces)
    traces.clear()
    calls = []
    sweep(
        fn, {"a": A, "b": B}, chunk_size=40, progress=False, on_chunk=lambda i, n: calls.append(i)
    )
    assert calls == list(range(10)) and len(traces) == one


def _backend_compiles(fn) -> int:
    """XLA backend compilations during ``fn()``."""
    count = [0]

    def listen(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    return count[0]


def test_a_repeated_sweep_reuses_its_compiled_program():
    """A second sweep of the same computation on new grid values of the same shape (a new
    lambda, even) compiles nothing; a different computation or a new chunk layout does,
    and the reused program gives the new grid's numbers."""
    a2, b2 = A + 0.125, B - 0.5
    first = sweep(lambda a, b: kernel(a, b), {"a": A, "b": B}, chunk_size=40, progress=False)
    again = lambda: sweep(
        lambda a, b: kernel(a, b), {"a": a2, "b": b2}, chunk_size=40, progress=False
    )
    assert _backend_compiles(again) == 0
    res = again()
    ref = jax.vmap(jax.vmap(kernel, (None, 0)), (0, None))(a2, b2)
    np.testing.assert_allclose(res.values["x"], ref["x"], rtol=1e-13)
    assert not np.allclose(res.values["x"], first.values["x"])
    other = lambda: sweep(
        lambda a, b: kernel(a, b, 0.5), {"a": a2, "b": b2}, chunk_size=40, progress=False
    )
    assert _backend_compiles(other) >= 1
    layout = lambda: sweep(
        lambda a, b: kernel(a, b), {"a": a2, "b": b2}, chunk_size=50, progress=False
    )
    assert _backend_compiles(layout) >= 1


def test_padding_uses_valid_points():
    """Padded lanes repeat a real point: a kernel that rejects 0 never sees one."""

    def positive(a):
        a = eqx.error_if(a, a <= 0, "a must be positive")
        return jnp.log(a)

    a = np.arange(1.0, 12.0)
    r = sweep(positive, {"a": a}, chunk_size=5, block_size=4, progress=False)
    np.testing.assert_array_equal(r.values, np.log(a))
    with pytest.raises(Exception, match="a must be positive"):
        sweep(positive, {"a": a - 3.0}, chunk_size=5, block_size=4, progress=False)


def test_resume_after_interruption(tmp_path):
    grid = {"a": A[:10], "b": B[:10]}  # 100 points, 5 chunks of 20
    full = sweep(kernel, grid, chunk_size=20, progress=False)

    seen = []  # every (a, b) the kernel is evaluated at, including padding

    def recording(a, b):
        jax.debug.callback(lambda x, y: seen.append((float(x), float(y))), a, b)
        return kernel(a, b)

    def interrupt(i, n):
        assert n == 5
        if i == 1:  # after 2 of 5 chunks
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(
            recording, grid, chunk_size=20, checkpoint=tmp_path, on_chunk=interrupt, progress=False
        )
    assert sorted(p.name for p in tmp_path.glob("chunk_*.npz")) == [
        "chunk_0000000.npz",
        "chunk_0000001.npz",
    ]
    seen.clear()
    finished = []
    r = sweep(
        recording,
        grid,
        checkpoint=tmp_path,  # no chunk_size: the checkpoint's is used
        on_chunk=lambda i, n: finished.append(i),
        progress=False,
    )
    assert finished == [2, 3, 4]
    aa, bb = np.meshgrid(grid["a"], grid["b"], indexing="ij")
    points = list(zip(aa.ravel().tolist(), bb.ravel().tolist(), strict=True))
    assert set(seen) == set(points[40:])  # chunks 0 and 1 were not recomputed
    np.testing.assert_array_equal(r["x"], full["x"])
    np.testing.assert_array_equal(r["energy"], full["energy"])

    # A third run computes nothing and still returns the numbers.
    again = sweep(recording, grid, checkpoint=tmp_path, on_chunk=pytest.fail, progress=False)
    np.testing.assert_array_equal(again["x"], full["x"])


def test_mismatched_checkpoint(tmp_path):
    grid = {"a": A[:6], "b": B[:6]}
    sweep(kernel, grid, chunk_size=10, checkpoint=tmp_path, progress=False)
    with pytest.raises(ValueError, match="coordinate values"):
        sweep(kernel, {"a": A[:6] + 1e-12, "b": B[:6]}, checkpoint=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"`chunk_size`: 10 on disk, 12 now"):
        sweep(kernel, grid, chunk_size=12, checkpoint=tmp_path, progress=False)
    with pytest.raises(ValueError, match="traced computation of `fn`"):
        sweep(functools.partial(kernel, c=0.26), grid, checkpoint=tmp_path, progress=False)
    with pytest.raises(ValueError, match="outputs' names"):
        sweep(lambda a, b: kernel(a, b)["x"], grid, checkpoint=tmp_path, progress=False)
    with pytest.raises(ValueError, match="`product` flag"):
        sweep(kernel, grid, product=False, checkpoint=tmp_path, progress=False)
    # The same sweep (a new but identical function object) resumes.
    same = functools.partial(kernel, c=0.25)
    sweep(same, grid, checkpoint=tmp_path, progress=False, on_chunk=pytest.fail)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(fn=3), "`fn` must be callable"),
        (dict(grid={}), "`grid` is empty"),
        (dict(grid=[A]), "`grid` must be a mapping"),
        (dict(grid={"a": A[:, None], "b": B}), r"`grid\['a'\]` must be 1-D; got shape \(23, 1\)"),
        (dict(grid={"a": A[:0], "b": B}), r"`grid\['a'\]` is empty"),
        (dict(grid={"a": np.array([0.0, np.nan]), "b": B}), "NaN or inf"),
        (dict(grid={"a": np.array(["x"]), "b": B}), "must be numeric"),
        (dict(product=False), r"equal lengths; got \{'a': 23, 'b': 17\}"),
        (dict(fn=lambda a, b: "text"), "PyTree of numeric arrays"),
        (dict(fn=lambda a, b: {"x": a, "y": "label"}), r"\['y'\] is str"),
        (dict(fn=lambda a, b: {}), "it returned {}"),
        (dict(fn=lambda a, b: {"a": a}), "named like coordinates"),
        (dict(units={"z": "T"}), "neither a coordinate"),
        (dict(units={"a": 1}), r"`units\['a'\]` must be a str"),
        (dict(chunk_size=0), "`chunk_size` must be a positive int"),
        (dict(block_size=2.5), "`block_size` must be a positive int"),
        (dict(devices=[]), "`devices` must be a non-empty sequence"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(fn=kernel, grid={"a": A, "b": B}, progress=False) | kwargs
    with pytest.raises(ValueError, match=match):
        sweep(args.pop("fn"), args.pop("grid"), **args)


_FOUR_DEVICES = """
import sys
import warnings
import jaxspin  # noqa: F401
import jax, jax.numpy as jnp, numpy as np
sys.path.insert(0, {tests!r})
from test_sweep import A, B, kernel
from jaxspin._sweep import sweep

assert len(jax.devices()) == 4, jax.devices()
spread = []  # how many devices each chunk's inputs were sharded over
device_put = jax.device_put
def spy(x, device=None, *args, **kwargs):
    spread.append(len(getattr(device, "device_set", ())))
    return device_put(x, device, *args, **kwargs)
jax.device_put = spy
grid = {{"a": A, "b": B}}
sharded = sweep(kernel, grid, chunk_size=96, block_size=8, checkpoint={ckpt!r}, progress=False)
assert set(spread) == {{4}}, spread  # default: every device
one = sweep(kernel, grid, chunk_size=96, block_size=8, devices=jax.devices()[:1], progress=False)
assert set(spread) == {{4, 1}}, spread
for k in ("x", "energy"):
    np.testing.assert_array_equal(sharded[k], one[k])
np.savez({out!r}, x=sharded["x"], energy=sharded["energy"])

# equinox checks and lineax solves work on every device (inside shard_map they do not).
import equinox as eqx, lineax as lx
def kidger(a, b):
    a = eqx.error_if(a, a < -10.0, "a out of range")
    op = lx.DiagonalLinearOperator(jnp.stack([2.0 + a, 3.0 + b]))
    return lx.linear_solve(op, jnp.stack([1.0, a]), lx.Diagonal()).value
spread.clear()
k4 = sweep(kidger, grid, block_size=8, progress=False)
k1 = sweep(kidger, grid, block_size=8, devices=jax.devices()[:1], progress=False)
assert set(spread) == {{4, 1}}, spread
np.testing.assert_array_equal(k4.values, k1.values)
np.testing.assert_allclose(k4.values[..., 1], A[:, None] / (3.0 + B[None, :]), rtol=1e-15)

# A kernel calling LAPACK is sharded over every CPU device like any other (jaxlib < 0.10 has
# no batch fan-out in its LAPACK kernels, so nothing can deadlock; benchmarks/stress.py),
# and gives the same numbers as numpy.linalg.solve.
def lapack(a, b):
    return jnp.linalg.solve(jnp.array([[2.0 + a, b], [b, 3.0]]), jnp.array([1.0, a]))
small = {{"a": A[:3], "b": B[:3]}}
spread.clear()
lp = sweep(lapack, small, block_size=1, progress=False)
assert set(spread) == {{4}}, spread
ref = [[np.linalg.solve([[2.0 + a, b], [b, 3.0]], [1.0, a]) for b in B[:3]] for a in A[:3]]
np.testing.assert_allclose(lp.values, np.array(ref), rtol=1e-13)
print("ok", len(jax.devices()))
"""


def test_four_devices_identical(tmp_path):
    """Sharded over 4 simulated CPU devices == unsharded == resumed in this (1-device)
    process from the 4-device run's checkpoint (so the manifest is device-independent)."""
    ckpt, out = tmp_path / "ckpt", tmp_path / "four.npz"
    script = _FOUR_DEVICES.format(tests=str(Path(__file__).parent), ckpt=str(ckpt), out=str(out))
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAXSPIN_PROGRESS="0")
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok 4" in proc.stdout
    here = sweep(kernel, {"a": A, "b": B}, checkpoint=ckpt, on_chunk=pytest.fail, progress=False)
    ref = direct(kernel, A, B)
    with np.load(out) as four:
        for k in ("x", "energy"):
            np.testing.assert_array_equal(four[k], here[k])
            assert_matches_vmap(four[k], ref[k])


_HOST = """
import pathlib, sys, time
import jax

process = {process}
# Before any JAX work. A short heartbeat: a survivor of a killed host stops within seconds.
jax.distributed.initialize(
    coordinator_address="127.0.0.1:{port}", num_processes=2, process_id=process,
    heartbeat_timeout_seconds=10,
)
import numpy as np
sys.path.insert(0, {tests!r})
from test_sweep import A, B, kernel
from jaxspin._sweep import sweep

assert (jax.process_count(), jax.process_index()) == (2, process)
assert len(jax.devices()) == 2 and len(jax.local_devices()) == 1, jax.devices()
log = pathlib.Path({log!r}.format(process))


def on_chunk(i, n):  # one line per chunk computed (after it is stored), kept if killed
    with log.open("a") as f:
        f.write(f"{{i}}\\n")
    if process == {stall}:  # hang here, to be killed with a chunk written
        log.with_suffix(".stalled").touch()
        time.sleep(600)


r = sweep(kernel, {{"a": A, "b": B}}, chunk_size=50, block_size=8, checkpoint={ckpt!r},
          progress=False, on_chunk=on_chunk)
np.savez({out!r}.format(process), x=r["x"], energy=r["energy"])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch_hosts(tmp_path: Path, run: str, stall: int = -1) -> list[subprocess.Popen]:
    """Processes 0 and 1 of a real 2-process ``jax.distributed`` run on this machine (one
    CPU device each, gloo collectives), sweeping into ``tmp_path / "ckpt"``; output,
    on_chunk log and result of process ``p`` in ``tmp_path / f"{run}{p}.*"``. Process
    ``stall`` hangs in ``on_chunk`` after its first chunk."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAXSPIN_PROGRESS="0")
    env.pop("XLA_FLAGS", None)  # one device per process
    env.pop("JAXSPIN_CPU_DEVICES", None)  # (set by an in-process `jaxspin` CLI test)
    port, procs = _free_port(), []
    for p in (0, 1):
        script = textwrap.dedent(_HOST).format(
            process=p,
            port=port,
            stall=stall,
            tests=str(Path(__file__).parent),
            ckpt=str(tmp_path / "ckpt"),
            log=str(tmp_path / f"{run}{{}}.log"),
            out=str(tmp_path / f"{run}{{}}.npz"),
        )
        with open(tmp_path / f"{run}{p}.out", "w") as output:
            cmd = [sys.executable, "-c", script]
            procs.append(subprocess.Popen(cmd, env=env, stdout=output, stderr=subprocess.STDOUT))
    return procs


def _wait(procs: list[subprocess.Popen], timeout: float) -> list[int]:
    """Exit statuses; whatever still runs after ``timeout`` seconds (together) is killed."""
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(deadline - time.monotonic(), 0.1)) for p in procs]
    finally:
        _kill(procs)


def _kill(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)


def _chunks_logged(tmp_path: Path, run: str, p: int) -> list[int]:
    path = tmp_path / f"{run}{p}.log"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _assert_hosts_equal_one_process(tmp_path: Path, run: str) -> None:
    one = sweep(kernel, {"a": A, "b": B}, chunk_size=50, block_size=8, progress=False)
    for p in (0, 1):
        with np.load(tmp_path / f"{run}{p}.npz") as host:
            np.testing.assert_array_equal(host["x"], one["x"])
            np.testing.assert_array_equal(host["energy"], one["energy"])


def test_multihost_distributed(tmp_path):
    """Two processes of a real ``jax.distributed`` run (coordinator on 127.0.0.1, the
    barrier a gloo all-gather) split the chunks and each assembles the result of one
    process bit for bit."""
    procs = _launch_hosts(tmp_path, "run")
    status = _wait(procs, timeout=240)
    logs = "".join((tmp_path / f"run{p}.out").read_text() for p in (0, 1))
    assert status == [0, 0], logs
    # 391 points in chunks of 50: 8 chunks, dealt round-robin.
    assert [_chunks_logged(tmp_path, "run", p) for p in (0, 1)] == [[0, 2, 4, 6], [1, 3, 5, 7]]
    _assert_hosts_equal_one_process(tmp_path, "run")


@pytest.mark.slow
def test_multihost_host_killed_and_relaunched(tmp_path):
    """Host 1 is SIGKILLed after writing a chunk; host 0 stops with an error instead of
    waiting for it; both are relaunched and compute exactly the chunks not on disk (the
    files written before the kill are untouched), with the numbers of one process."""
    procs = _launch_hosts(tmp_path, "killed", stall=1)
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "killed1.stalled").exists():
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [
                (tmp_path / f"killed{p}.out").read_text() for p in (0, 1)
            ]
            time.sleep(0.1)
        procs[1].send_signal(signal.SIGKILL)
        status = _wait(procs, timeout=120)
    finally:
        _kill(procs)
    assert status[1] == -signal.SIGKILL
    survivor = (tmp_path / "killed0.out").read_text()
    assert status[0] != 0, survivor  # stopped, not hanging
    assert "another process has probably stopped" in survivor, survivor
    assert _chunks_logged(tmp_path, "killed", 1) == [1]
    before = {f.name: f.stat().st_mtime_ns for f in (tmp_path / "ckpt").glob("chunk_*.npz")}
    finished = {int(name[6:13]) for name in before}
    assert finished >= {1, *_chunks_logged(tmp_path, "killed", 0)}
    assert finished != set(range(8))

    status = _wait(_launch_hosts(tmp_path, "again"), timeout=240)
    logs = "".join((tmp_path / f"again{p}.out").read_text() for p in (0, 1))
    assert status == [0, 0], logs
    recomputed = [_chunks_logged(tmp_path, "again", p) for p in (0, 1)]
    assert sorted(recomputed[0] + recomputed[1]) == sorted(set(range(8)) - finished)
    assert all(i % 2 == p for p in (0, 1) for i in recomputed[p])
    after = {f.name: f.stat().st_mtime_ns for f in (tmp_path / "ckpt").glob("chunk_*.npz")}
    assert {name: after[name] for name in before} == before  # finished chunks not rewritten
    assert len(after) == 8
    _assert_hosts_equal_one_process(tmp_path, "again")


def test_interrupted_write_leaves_no_chunk(tmp_path, monkeypatch):
    """Ctrl-C while a chunk file is being written: that chunk is absent (not half there),
    the leftover temporary file is removed on resume, and the numbers are unchanged."""
    grid = {"a": A[:10], "b": B[:10]}
    full = sweep(kernel, grid, chunk_size=20, progress=False)
    savez, calls = np.savez, []

    def savez_then_interrupt(f, **arrays):
        calls.append(1)
        if len(calls) == 3:
            f.write(b"partial")
            raise KeyboardInterrupt
        savez(f, **arrays)

    monkeypatch.setattr(np, "savez", savez_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        sweep(kernel, grid, chunk_size=20, checkpoint=tmp_path, progress=False)
    monkeypatch.setattr(np, "savez", savez)
    assert sorted(p.name for p in tmp_path.glob("chunk_*.npz")) == [
        "chunk_0000000.npz",
        "chunk_0000001.npz",
    ]
    assert len(list(tmp_path.glob("*.tmp.*"))) == 1
    finished = []
    r = sweep(
        kernel, grid, checkpoint=tmp_path, progress=False, on_chunk=lambda i, n: finished.append(i)
    )
    assert finished == [2, 3, 4] and not list(tmp_path.glob("*.tmp.*"))
    np.testing.assert_array_equal(r["x"], full["x"])


def test_two_chunks_in_flight(monkeypatch):
    """The accelerator schedule (next chunk dispatched before the previous one is stored)
    gives the same numbers and calls on_chunk in order."""
    import jaxspin._sweep

    monkeypatch.setattr(jaxspin._sweep, "_chunks_in_flight", lambda platform: 2)
    calls = []
    r = sweep(
        kernel,
        {"a": A, "b": B},
        chunk_size=40,
        block_size=8,
        progress=False,
        on_chunk=lambda i, n: calls.append((i, n)),
    )
    assert calls == [(i, 10) for i in range(10)]
    one = sweep(kernel, {"a": A, "b": B}, chunk_size=40, block_size=8, progress=False)
    np.testing.assert_array_equal(r["x"], one["x"])


def test_default_chunk_size(tmp_path, monkeypatch):
    """Default: 2**16 points, fewer when a chunk's inputs and outputs would exceed 1/16 of
    the free memory, rounded down to whole blocks."""
    grid = {"a": np.linspace(0.0, 1.0, 300), "b": np.linspace(0.0, 1.0, 300)}

    def chunks_of(directory):
        sweep(lambda a, b: a * b, grid, checkpoint=directory, progress=False)
        return json.loads((directory / "manifest.json").read_text())["chunk_size"]

    assert chunks_of(tmp_path / "plenty") == 2**16
    # 8 MiB free: 8 MiB / 16 / (2 inputs + 1 output, 8 bytes each) = 21845 -> 85 blocks of 256.
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "8M")
    assert chunks_of(tmp_path / "tight") == 21760
