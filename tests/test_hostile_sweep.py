"""Hostile input and faults in the sweep layer (issue 16): bad arguments are refused with
the argument's name, a bad point is named (``throw=True``) or becomes NaN plus a status
code for that point only (``throw=False``), and a damaged, swapped or shared checkpoint
directory is refused with the file and what to do, never used silently.

Code: jaxspin/_sweep.py, jaxspin/_sweep_checkpoint.py, jaxspin/_sweep_result.py.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspin._sweep import sweep
from jaxspin._sweep_result import SweepResult, load_sweep


X = np.linspace(-1.0, 1.0, 21)  # X[10] == 0: the "zero detuning"
W = np.array([0.5, 2.0])


def lorentz(detuning, width):
    """Divides by the detuning: inf at detuning == 0 (the issue's example)."""
    return {"ratio": width / detuning, "square": detuning**2 + width, "n": jnp.int32(3)}


def checked(x):
    """Raises (eqx.error_if) at x == 0.5 only."""
    x = eqx.error_if(x, x == 0.5, "x must not be 0.5")
    return {"y": jnp.sin(3.0 * x) * jnp.exp(x), "k": jnp.int32(7), "flag": x > 0}


def kernel(a, b):
    return {"x": jnp.stack([a * b, jnp.cos(a) + b]), "e": jnp.exp(-a) * b}


GRID = {"a": np.linspace(0.0, 1.0, 7), "b": np.linspace(1.0, 2.0, 5)}  # 35 points


# ------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(product="no"), ValueError, "`product` must be a bool"),
        (dict(throw="no"), ValueError, "`throw` must be a bool"),
        (dict(desc=3), ValueError, "`desc` must be a str"),
        (dict(on_chunk=5), ValueError, "`on_chunk` must be callable"),
        (dict(chunk_size=True), ValueError, "`chunk_size` must be a positive int"),
        (dict(block_size=-4), ValueError, "`block_size` must be a positive int"),
        (dict(checkpoint=""), ValueError, "`checkpoint` must name a directory"),
        (dict(fn=lambda a, c: a), TypeError, r"grid's names \['a', 'b'\]"),
        (dict(grid={"a": np.array([0.0, np.inf]), "b": GRID["b"]}), ValueError, "NaN or inf"),
        # valid calls: the checks refuse nothing good
        (dict(product=np.bool_(True)), None, None),
        (dict(chunk_size=np.int64(8), block_size=3, throw=False, desc="ok"), None, None),
    ],
)
def test_bad_arguments(kwargs, error, match):
    args = dict(fn=kernel, grid=GRID, progress=False) | kwargs
    fn, grid = args.pop("fn"), args.pop("grid")
    if error is None:
        r = sweep(fn, grid, **args)
        assert r.shape == (7, 5) and not r.failed.any()
        return
    with pytest.raises(error, match=match):
        sweep(fn, grid, **args)


def test_checkpoint_that_is_a_file_or_unwritable(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        sweep(kernel, GRID, checkpoint=a_file, progress=False)
    with pytest.raises(ValueError, match="cannot be used"):
        sweep(kernel, GRID, checkpoint=a_file / "sub", progress=False)
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(ValueError, match="cannot be used.*writable directory"):
        sweep(kernel, GRID, checkpoint=locked / "ckpt", progress=False)


@pytest.mark.parametrize("transform", [jax.jit, jax.vmap])
def test_traced_grid_is_refused(transform):
    with pytest.raises(ValueError, match=r"`grid\['a'\]` is traced"):
        transform(lambda a: sweep(kernel, {"a": a, "b": GRID["b"]}, progress=False))(GRID["a"])


# ----------------------------------------------------------------------------- bad points


def test_nonfinite_point_is_named_or_flagged():
    grid = {"detuning": X, "width": W}
    with pytest.raises(FloatingPointError, match=r"detuning=0\.0, width=0\.5 \(flat index 20"):
        sweep(lorentz, grid, progress=False)
    with pytest.raises(FloatingPointError, match=r"2 of 42 points.*\['ratio'\]"):
        sweep(lorentz, grid, progress=False)
    r = sweep(lorentz, grid, progress=False, throw=False, chunk_size=16, block_size=4)
    assert r.status.shape == (21, 2) and r.status.dtype == np.int8
    expected = np.zeros((21, 2), np.int8)
    expected[10] = 1
    np.testing.assert_array_equal(r.status, expected)
    # flagged, with the values the kernel computed (inf here), and nothing else changed
    np.testing.assert_array_equal(r["ratio"][10], [np.inf, np.inf])
    np.testing.assert_array_equal(r["square"][10], W)
    np.testing.assert_array_equal(r["n"][10], [3, 3])
    good = np.arange(21) != 10
    np.testing.assert_allclose(r["ratio"][good], W / X[good, None], rtol=1e-15)
    assert "failed points: 2" in repr(r)


def test_raising_point_is_named_or_flagged_and_others_keep_their_bits():
    x = np.linspace(0.0, 1.0, 41)  # x[20] == 0.5
    opts = dict(progress=False, chunk_size=12, block_size=4)
    with pytest.raises(jax.errors.JaxRuntimeError, match="x must not be 0.5") as err:
        sweep(checked, {"x": x}, **opts)
    assert "x=0.5 (flat index 20" in "".join(err.value.__notes__)
    r = sweep(checked, {"x": x}, throw=False, **opts)
    np.testing.assert_array_equal(np.flatnonzero(r.status), [20])
    assert r.status[20] == 2 and np.isnan(r["y"][20]) and r["k"][20] == -1
    assert not r["flag"][20]
    # The other points: the same bits as a sweep in which no point raises (x[20] moved).
    moved = x.copy()
    moved[20] = 0.25
    ref = sweep(checked, {"x": moved}, **opts)
    good = np.arange(41) != 20
    for k in ("y", "k", "flag"):
        np.testing.assert_array_equal(r[k][good], ref[k][good])


def test_raising_point_with_two_chunks_in_flight(monkeypatch):
    """The accelerator schedule (chunk i + 1 dispatched before chunk i is stored)."""
    import jaxspin._sweep

    x = np.linspace(0.0, 1.0, 41)
    opts = dict(throw=False, progress=False, chunk_size=12, block_size=4)
    one = sweep(checked, {"x": x}, **opts)
    monkeypatch.setattr(jaxspin._sweep, "_chunks_in_flight", lambda platform: 2)
    two = sweep(checked, {"x": x}, **opts)
    np.testing.assert_array_equal(two.status, one.status)
    np.testing.assert_array_equal(two["y"], one["y"])
    assert np.flatnonzero(two.status).tolist() == [20]


def test_every_point_of_a_block_raising():
    x = np.full(9, 0.5)
    x[0] = 0.1
    r = sweep(checked, {"x": x}, throw=False, progress=False, block_size=4)
    np.testing.assert_array_equal(r.status, [0] + [2] * 8)
    assert np.isfinite(r["y"][0]) and np.isnan(r["y"][1:]).all()


def test_failed_points_in_a_checkpoint(tmp_path):
    grid = {"detuning": X, "width": W}
    r = sweep(lorentz, grid, throw=False, checkpoint=tmp_path, chunk_size=10, progress=False)
    again = sweep(
        lorentz, grid, throw=False, checkpoint=tmp_path, progress=False, on_chunk=pytest.fail
    )
    np.testing.assert_array_equal(again.status, r.status)
    np.testing.assert_array_equal(again["ratio"], r["ratio"])
    with pytest.raises(ValueError, match=r"chunk_0000002\.npz holds 2 failed point.*detuning=0\.0"):
        sweep(lorentz, grid, checkpoint=tmp_path, progress=False)


def test_error_leaves_earlier_chunks_and_releases_the_lock(tmp_path):
    grid = {"detuning": X, "width": W}
    with pytest.raises(FloatingPointError):
        sweep(lorentz, grid, checkpoint=tmp_path, chunk_size=8, progress=False)
    assert sorted(p.name for p in tmp_path.glob("chunk_*.npz")) == [
        "chunk_0000000.npz",
        "chunk_0000001.npz",
    ]
    done = []
    r = sweep(
        lorentz,
        grid,
        checkpoint=tmp_path,
        throw=False,
        progress=False,
        on_chunk=lambda i, n: done.append(i),
    )
    assert done == [2, 3, 4, 5] and r.failed.sum() == 2


# ------------------------------------------------------------------------------ checkpoints


def _fresh(tmp_path, **kw):
    """A finished checkpoint of GRID in 5 chunks of 8 points (the last one short)."""
    ckpt = tmp_path / "ckpt"
    ref = sweep(kernel, GRID, checkpoint=ckpt, chunk_size=8, progress=False, **kw)
    return ckpt, ref


def _damage_garbage(path):
    path.write_bytes(b"not a zip file at all")


def _damage_truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damage_pickle(path):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["0"] = np.array([None] * 8, dtype=object)  # loading it would need pickle
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _damage_missing_arrays(path):
    with np.load(path) as f:
        kept = {"0": f["0"]}
    with open(path, "wb") as f:
        np.savez(f, **kept)


def _damage_edit_values(path):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["1"] = arrays["1"] + 1e-9  # same shapes, same meta: only the checksum can tell
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    "damage, match",
    [
        (_damage_garbage, "cannot be read.*pickled"),
        (_damage_truncate, "cannot be read"),
        (_damage_pickle, "cannot be read.*Object arrays"),
        (_damage_missing_arrays, r"lacks the arrays \['1', 'meta', 'status'\]"),
        (_damage_edit_values, "does not match its checksum"),
        (lambda p: shutil.copy(p.with_name("chunk_0000001.npz"), p), "holds chunk 1, not chunk 2"),
    ],
)
def test_damaged_chunk_is_refused_then_recomputed(tmp_path, damage, match):
    ckpt, ref = _fresh(tmp_path)
    bad = ckpt / "chunk_0000002.npz"
    damage(bad)
    with pytest.raises(ValueError, match=match) as err:
        sweep(kernel, GRID, checkpoint=ckpt, progress=False, on_chunk=pytest.fail)
    assert str(bad) in str(err.value) and "delete it to recompute that chunk" in str(err.value)
    bad.unlink()  # what the message says to do
    done = []
    r = sweep(kernel, GRID, checkpoint=ckpt, progress=False, on_chunk=lambda i, n: done.append(i))
    assert done == [2]
    for k in ("x", "e"):
        np.testing.assert_array_equal(r[k], ref[k])


def test_chunk_of_another_sweep_is_refused(tmp_path):
    ckpt, _ = _fresh(tmp_path)
    other = tmp_path / "other"
    sweep(lambda a, b: kernel(a + 1.0, b), GRID, checkpoint=other, chunk_size=8, progress=False)
    shutil.copy(other / "chunk_0000001.npz", ckpt / "chunk_0000001.npz")
    with pytest.raises(ValueError, match="belongs to another sweep.*delete it"):
        sweep(kernel, GRID, checkpoint=ckpt, progress=False)


def _manifest_edit(edit):
    def apply(path):
        manifest = json.loads(path.read_text())
        path.write_text(json.dumps(edit(manifest)))

    return apply


@pytest.mark.parametrize(
    "damage, error, match",
    [
        (lambda p: p.write_text('{"format": "jaxspin.sw'), ValueError, "cannot be read.*delete"),
        (lambda p: p.write_text("[1, 2]"), ValueError, "not a jaxspin sweep checkpoint manifest"),
        (
            _manifest_edit(lambda m: {k: v for k, v in m.items() if k != "version"}),
            ValueError,
            "checkpoint format .*: None on disk, 2 now",
        ),
        (
            _manifest_edit(lambda m: m | {"block_size": 4}),
            ValueError,
            r"`block_size`: 4 on disk, 256 now",
        ),
        (
            _manifest_edit(lambda m: m | {"chunk_size": "eight"}),
            ValueError,
            r"`chunk_size`: 'eight' on disk",
        ),
        (_manifest_edit(lambda m: m | {"platform": "gpu"}), ValueError, "device platform"),
    ],
)
def test_damaged_or_foreign_manifest(tmp_path, damage, error, match):
    ckpt, _ = _fresh(tmp_path)
    damage(ckpt / "manifest.json")
    with pytest.raises(error, match=match):
        sweep(kernel, GRID, checkpoint=ckpt, block_size=256, progress=False)


def test_block_size_is_part_of_the_manifest(tmp_path):
    ckpt, ref = _fresh(tmp_path, block_size=2)
    assert json.loads((ckpt / "manifest.json").read_text())["block_size"] == 2
    with pytest.raises(ValueError, match=r"`block_size`: 2 on disk, 4 now"):
        sweep(kernel, GRID, checkpoint=ckpt, block_size=4, progress=False)
    (ckpt / "chunk_0000003.npz").unlink()
    r = sweep(kernel, GRID, checkpoint=ckpt, progress=False)  # the checkpoint's block size
    np.testing.assert_array_equal(r["x"], ref["x"])


def test_second_sweep_on_a_locked_directory(tmp_path):
    ckpt = tmp_path / "ckpt"
    seen = []

    def second(i, n):
        if i == 0:
            with pytest.raises(
                RuntimeError, match=rf"in use by another sweep \(process {os.getpid()}"
            ):
                sweep(kernel, GRID, checkpoint=ckpt, progress=False)
            seen.append(i)

    sweep(kernel, GRID, checkpoint=ckpt, chunk_size=8, progress=False, on_chunk=second)
    assert seen == [0]
    sweep(kernel, GRID, checkpoint=ckpt, progress=False, on_chunk=pytest.fail)  # released


def test_lock_held_by_another_process(tmp_path):
    ckpt, _ = _fresh(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(ckpt / 'process-0.lock')!r}, os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.ftruncate(fd, 0); os.write(fd, f'{os.getpid()} on host h'.encode())\n"
            "print('locked', flush=True); time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RuntimeError, match=rf"process {holder.pid} on host h holds"):
            sweep(kernel, GRID, checkpoint=ckpt, progress=False)
    finally:
        holder.kill()
        holder.wait()
    sweep(kernel, GRID, checkpoint=ckpt, progress=False, on_chunk=pytest.fail)


def test_only_orphaned_temporary_files_are_removed(tmp_path):
    ckpt, _ = _fresh(tmp_path)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = "".join(c if c.isalnum() or c in "_-" else "_" for c in socket.gethostname())
    names = {
        "live": f"chunk_0000009.npz.tmp.{host}.{alive.pid}",
        "other_host": f"chunk_0000009.npz.tmp.elsewhere.{dead.pid}",
        "dead": f"chunk_0000009.npz.tmp.{host}.{dead.pid}",
        "mine": f"chunk_0000009.npz.tmp.{host}.{os.getpid()}",
        "old_style_dead": f"manifest.json.tmp.{dead.pid}",
    }
    try:
        for name in names.values():
            (ckpt / name).write_bytes(b"partial")
        sweep(kernel, GRID, checkpoint=ckpt, progress=False, on_chunk=pytest.fail)
        left = {p.name for p in ckpt.glob("*.tmp.*")}
        assert left == {names["live"], names["other_host"]}
    finally:
        alive.kill()
        alive.wait()


# ------------------------------------------------------------------ SweepResult, load_sweep


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dims="a"), "`dims` must be a non-empty sequence"),
        (dict(dims=("a", "a")), "names an axis twice"),
        (dict(coords={}), "`coords` must be a non-empty mapping"),
        (dict(coords={"a": np.zeros((3, 1))}), r"`coords\['a'\]` must be a non-empty 1-D"),
        (dict(dims=("a", "b")), r"\['b'\] have no coordinate"),
        (dict(values={"y": np.zeros(4)}), r"\['y'\] must be an array of shape \(3,\)"),
        (dict(values={"y": 1.0}), r"must be an array of shape \(3,\).*float"),
        (dict(units={"z": "T"}), "neither a coordinate"),
        (dict(status=np.zeros(2)), r"`status` must have the grid's shape \(3,\)"),
    ],
)
def test_sweep_result_is_checked(kwargs, match):
    args = dict(dims=("a",), coords={"a": np.arange(3.0)}, values={"y": np.zeros((3, 2))})
    args |= dict(units={}) | kwargs
    with pytest.raises(ValueError, match=match):
        SweepResult(**args)
    SweepResult(("a",), {"a": np.arange(3.0)}, {"y": np.zeros((3, 2))}, {"y": "T"})  # valid


def test_load_sweep_refuses_damaged_files(tmp_path):
    r = sweep(lorentz, {"detuning": X, "width": W}, throw=False, progress=False)
    path = tmp_path / "r.npz"
    r.save(path)
    back = load_sweep(path)
    np.testing.assert_array_equal(back.status, r.status)  # status round-trips
    assert not list(tmp_path.glob("*.tmp.*"))
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match=rf"{damaged.name}.* cannot be read as a jaxspin sweep"):
        load_sweep(damaged)
    with zipfile.ZipFile(tmp_path / "meta.npz", "w") as z:
        z.writestr("meta.npy", b"garbage")
    with pytest.raises(ValueError, match="meta.npz"):
        load_sweep(tmp_path / "meta.npz")
    with pytest.raises(FileNotFoundError):
        load_sweep(tmp_path / "absent.npz")
