"""Parameter sweeps: one single-point kernel evaluated over a grid, in bounded memory.

:func:`sweep` is the one place in jaxspin that batches a kernel over many parameter points
(up to ~1e8). It splits the flattened grid into *chunks* of bounded size; each chunk is
padded to a fixed shape, sharded over the local devices (a 1-D ``jax.sharding.Mesh``),
evaluated by one compiled function (compiled once, reused for every chunk) that
*cache-blocks* the points on each device with ``jax.lax.map(vmap(fn),
batch_size=block_size)``, and copied to host NumPy. Finished chunks can be written to a
checkpoint directory so that an interrupted sweep resumes where it stopped. A bad point (a
NaN/inf output, a kernel that raises there) is named in an error or, with ``throw=False``,
flagged in ``SweepResult.status`` while every other point keeps its numbers.

``jaxspin._batching`` maps a kernel over the leading axes of arrays inside one ``jit``;
this module is the host-level layer above it: chunks, devices, files, progress.
"""

import collections
import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import ArrayLike, PyTree

from . import _checks
from ._batching import DEFAULT_BLOCK_SIZE
from ._memory import available_memory_bytes, check_fits, format_bytes
from ._progress import Progress
from ._sweep_checkpoint import Checkpoint, barrier
from ._sweep_result import (
    POINT_NONFINITE,
    POINT_OK,
    POINT_RAISED,
    SweepResult,
    check_units,
    output_names,
)


_log = logging.getLogger("jaxspin.sweep")
_MAX_CHUNK = 2**16  # default cap on points per chunk (checkpoint and progress granularity)
_CPU_BLOCK = DEFAULT_BLOCK_SIZE  # default cache block on CPU (see benchmarks/sweep.py)


# ----------------------------------------------------------------------------- the grid


@dataclasses.dataclass(frozen=True)
class _Grid:
    names: tuple[str, ...]
    coords: tuple[np.ndarray, ...]  # 1-D, in the dtypes JAX computes with
    product: bool

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.coords) if self.product else (len(self.coords[0]),)

    @property
    def dims(self) -> tuple[str, ...]:
        return self.names if self.product else ("point",)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def points(self, flat: np.ndarray) -> list[np.ndarray]:
        """Coordinate values at flat (C-order) grid indices; the product grid is never
        materialised."""
        if not self.product:
            return [c[flat] for c in self.coords]
        index = np.unravel_index(flat, self.shape)
        return [c[i] for c, i in zip(self.coords, index, strict=True)]

    def fingerprint(self) -> str:
        h = hashlib.sha256(repr((self.names, self.product)).encode())
        for c in self.coords:
            h.update(f"{c.dtype.str}{c.shape}".encode())
            h.update(np.ascontiguousarray(c).tobytes())
        return h.hexdigest()


def _as_grid(grid: Mapping[str, ArrayLike], product: bool) -> _Grid:
    if not isinstance(grid, Mapping):
        raise ValueError(f"`grid` must be a mapping name -> 1-D array; got {type(grid).__name__}.")
    if len(grid) == 0:
        raise ValueError("`grid` is empty; give at least one coordinate.")
    coords = []
    for name, value in grid.items():
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"`grid` keys must be non-empty str (fn's argument names); got {name!r}."
            )
        if isinstance(value, jax.core.Tracer):
            raise ValueError(
                f"`grid[{name!r}]` is traced: sweep is a host-level loop over chunks and "
                "cannot run inside jit/vmap/grad. Call it outside, or vmap the kernel instead."
            )
        arr = np.asarray(value)
        if arr.ndim != 1:
            raise ValueError(f"`grid[{name!r}]` must be 1-D; got shape {arr.shape}.")
        if arr.size == 0:
            raise ValueError(f"`grid[{name!r}]` is empty.")
        if arr.dtype.kind not in "biufc":
            raise ValueError(f"`grid[{name!r}]` must be numeric; got dtype {arr.dtype}.")
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            raise ValueError(f"`grid[{name!r}]` contains NaN or inf.")
        coords.append(arr.astype(jax.dtypes.canonicalize_dtype(arr.dtype), copy=False))
    if not product and len({len(c) for c in coords}) > 1:
        lengths = {n: len(c) for n, c in zip(grid, coords, strict=True)}
        raise ValueError(
            f"With product=False the coordinates are zipped and need equal lengths; got {lengths}."
        )
    return _Grid(tuple(grid), tuple(coords), bool(product))


# -------------------------------------------------------------------- the kernel and outputs


def _fn_name(fn: Callable) -> str:
    while hasattr(fn, "func"):  # functools.partial
        fn = fn.func  # type: ignore[attr-defined]
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _point_fn(fn: Callable, names: tuple[str, ...]) -> Callable:
    """``fn`` with positional 0-d arguments, checked to return a PyTree of arrays."""

    def point(*args):
        out = fn(**dict(zip(names, args, strict=True)))
        leaves, treedef = jax.tree_util.tree_flatten_with_path(out)
        if not leaves:
            raise ValueError(f"`fn` must return a PyTree of arrays; it returned {out!r}.")
        arrays = []
        for path, leaf in leaves:
            ok = isinstance(
                leaf, jax.Array | np.ndarray | np.generic | bool | int | float | complex
            )
            if not ok or np.dtype(jnp.result_type(leaf)).kind not in "biufc":
                where = jax.tree_util.keystr(path) or "its output"
                kind = type(leaf).__name__
                raise ValueError(f"`fn` must return a PyTree of numeric arrays; {where} is {kind}.")
            arrays.append(jnp.asarray(leaf))
        return jax.tree.unflatten(treedef, arrays)

    return point


def _trace(point: Callable, grid: _Grid) -> tuple[PyTree[jax.ShapeDtypeStruct], str]:
    """Output shapes/dtypes of one point, and a fingerprint of the traced computation: the
    jaxpr text (which includes Python constants bound by partial/closure at full precision)
    and the bytes of the arrays it closes over."""
    args = [jax.ShapeDtypeStruct((), c.dtype) for c in grid.coords]
    try:
        closed, out = jax.make_jaxpr(point, return_shape=True)(*args)
    except TypeError as e:
        e.add_note(
            f"While tracing the sweep's `fn` at one point: it is called as fn(**point) with "
            f"the grid's names {list(grid.names)}, each a 0-d array."
        )
        raise
    text = re.sub(r"0x[0-9a-fA-F]+", "0x", str(closed))  # no object addresses
    h = hashlib.sha256(text.encode())
    for const in closed.consts:
        h.update(np.ascontiguousarray(np.asarray(const)).tobytes())
    return out, h.hexdigest()


def _reusable(point: Callable, grid: _Grid) -> bool:
    """Whether a compiled chunk program of ``point`` may be re-used by fingerprint: not
    when it calls back into Python (two different callbacks print alike in a jaxpr)."""
    args = [jax.ShapeDtypeStruct((), c.dtype) for c in grid.coords]
    return "callback" not in str(jax.make_jaxpr(point)(*args))


# Compiled chunk programs of recent sweeps, keyed by the traced computation of `fn` and
# the layout (see `_compiled`): a repeated sweep (new grid values, same shapes) does not
# lower and compile again. Bounded; the executables are small next to a sweep's output.
_PROGRAMS: collections.OrderedDict = collections.OrderedDict()
_PROGRAMS_MAX = 32


# ------------------------------------------------------------------------ chunk and block


def _check_devices(devices: Sequence[jax.Device] | None) -> list[jax.Device]:
    if devices is None:
        return list(jax.local_devices())
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(f"`devices` must be a non-empty sequence of jax.Device; got {devices}.")
    if len(set(devices)) != len(devices):
        raise ValueError(f"`devices` lists a device twice: {devices}.")
    if len({d.platform for d in devices}) > 1:
        raise ValueError(f"`devices` mixes platforms: {devices}.")
    if any(d.process_index != jax.process_index() for d in devices):
        raise ValueError(
            f"`devices` must be local to this process (jax.local_devices()); got {devices}."
        )
    return devices


def _host_device() -> jax.Device | None:
    """A CPU device, whose free memory is the host's RAM (None: use JAX's default)."""
    try:
        return jax.local_devices(backend="cpu")[0]
    except RuntimeError:  # pragma: no cover - CPU backend excluded by JAX_PLATFORMS
        return None


def _check_positive(value: int | None, name: str) -> None:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1
    if value is not None and not ok:
        raise ValueError(f"`{name}` must be a positive int or None; got {value!r}.")


def _layout(chunk: int, n_devices: int, block_size: int | None) -> tuple[int, int]:
    """(block, padded): points per cache block, and chunk length padded to a whole number of
    blocks on every device."""
    per_device = -(-chunk // n_devices)
    block = per_device if block_size is None else min(block_size, per_device)
    return block, -(-per_device // block) * block * n_devices


def _default_chunk(
    n_points: int, bytes_per_point: int, devices: list[jax.Device], block: int | None
) -> int:
    """At most 2**16 points, and a chunk's inputs and outputs (two chunks are in flight)
    within 1/16 of the memory available on a device (host RAM shared by CPU devices)."""
    available = available_memory_bytes(devices[0])
    per_device = available / (len(devices) if devices[0].platform == "cpu" else 1)
    fits = int(per_device / 16 / max(bytes_per_point, 1)) * len(devices)
    quantum = len(devices) * (block or 1)
    chunk = min(_MAX_CHUNK, max(fits, 1))
    if chunk >= quantum:
        chunk -= chunk % quantum  # no padding inside full chunks
    return max(1, min(chunk, n_points))


# ----------------------------------------------------------------------------- the sweep


def sweep(
    fn: Callable[..., PyTree[ArrayLike]],
    grid: Mapping[str, ArrayLike],
    *,
    product: bool = True,
    units: Mapping[str, str] | None = None,
    chunk_size: int | None = None,
    block_size: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = True,
    desc: str = "sweep",
    on_chunk: Callable[[int, int], None] | None = None,
    throw: bool = True,
) -> SweepResult:
    """Evaluate a single-point kernel over a parameter grid, in chunks, on all local devices.

    Arguments:
        fn: the kernel for *one* point, called as ``fn(**point)`` with a 0-d array for
            each grid coordinate, returning a PyTree of arrays (an array, a dict, an
            equinox Module, ...). Bind fixed arguments with ``functools.partial`` or a
            closure. It is traced with ``vmap`` and ``lax.map``, so it must be a pure JAX
            function.
        grid: coordinate name -> 1-D array of values. Names are ``fn``'s argument names.
        product: ``True``: the Cartesian product of the coordinates (grid shape
            ``(len(c) for c in grid.values())``; the full grid is never materialised,
            each chunk's points are computed from flat indices). ``False``: coordinates
            of equal length are zipped into one axis named ``"point"``.
        units: units of coordinates and outputs, by name (outputs by their dotted tree
            path: ``"signal"`` for ``{"signal": x}``, ``"value"`` for a bare array).
        chunk_size: points per chunk, the unit of memory, progress and checkpointing. The
            default is the largest multiple of ``len(devices) * block`` up to ``2**16``
            whose inputs and outputs take at most 1/16 of a device's free memory (host
            RAM shared between CPU devices); a grid smaller than that is one chunk. When
            resuming, the checkpoint's chunk size is used.
        block_size: points per cache block on each device: a chunk's share is evaluated
            as ``lax.map(vmap(fn), batch_size=block_size)``, so intermediates of only one
            block are live at a time. Default 256 on CPU (2-3x faster than one big
            ``vmap``, see ``benchmarks/sweep.py``), and one ``vmap`` over the whole share
            on GPU/TPU; pass a smaller value if a chunk's intermediates do not fit. When
            resuming, the checkpoint's block size is used.
        checkpoint: a directory. Each finished chunk is written there (atomically: a
            temporary file, then ``os.replace``), with a ``manifest.json`` describing the
            sweep. Rerunning the same sweep loads the finished chunks instead of
            recomputing them; a sweep that differs from the manifest (grid values, chunk
            or block size, device platform, outputs, or the traced computation of ``fn``
            including bound constants) raises ``ValueError`` naming what differs (so does
            a directory written by a jaxspin older than the chunk checksums). Each chunk
            file holds its index, the sweep it belongs to and a sha256 of its arrays,
            checked when it is loaded: a damaged, renamed or foreign chunk file raises
            ``ValueError`` naming the file; delete it and the chunk is recomputed. The
            directory is locked (``flock`` on ``process-<p>.lock``, non-blocking) for the
            whole call: a second sweep on it, in this or another process, raises
            ``RuntimeError`` naming the holder's pid; the lock goes when its process ends,
            even by SIGKILL. On a network file system the lock holds between hosts only
            where ``flock`` is honoured there (Linux NFSv4 clients emulate it with POSIX
            locks; mounted with ``local_lock=flock`` or ``all`` it holds per host only);
            where ``flock`` fails the sweep logs a warning and goes on unlocked.
        devices: the devices each chunk is sharded over. Default: ``jax.local_devices()``.
        progress: show a progress bar (:class:`jaxspin._progress.Progress`) on stderr.
        desc: label of the progress bar and of error messages.
        on_chunk: called as ``on_chunk(index, n_chunks)`` after each chunk computed in this
            call has been stored (not for chunks loaded from a checkpoint).
        throw: what a bad point does. A point is bad when a floating output of ``fn``
            holds NaN or inf there, or when ``fn`` raises at run time there
            (``eqx.error_if``, an exception in a host callback). ``True`` (default):
            raise, naming the point's coordinates: ``FloatingPointError`` for NaN/inf, the
            kernel's own ``JaxRuntimeError`` with a note for a raise (finding the point
            costs up to one more evaluation of its chunk); chunks finished before it stay
            in ``checkpoint``. A kernel whose NaN/inf are expected (a divergence it means to
            show) needs ``throw=False``. ``False``: the sweep goes on and
            :attr:`SweepResult.status` says which points failed and how; a NaN/inf point
            keeps the values the kernel computed, a raising point gets NaN in its floating
            outputs (-1 in integer ones, the maximum in unsigned ones, ``False`` in
            booleans). Every other point has the bits of a sweep without bad points
            (tested): a chunk in which ``fn`` raised is recomputed block by block with the
            same block size, and a failing block point by point, then as a block again
            with the raising points replaced by a good one.

    Returns:
        A :class:`SweepResult`: ``values`` has ``fn``'s output structure with NumPy leaves
        of shape ``grid shape + leaf shape``; ``coords``, ``dims`` and ``units`` label it;
        ``status`` holds an ``int8`` code per point (``0`` fine, ``1`` NaN/inf output,
        ``2`` the kernel raised).

    Raises:
        ValueError: bad ``fn``, ``grid`` or options, or a mismatching or damaged checkpoint.
        RuntimeError: ``checkpoint`` is in use by another sweep.
        FloatingPointError: ``throw=True`` and ``fn`` returned NaN or inf at a point.
        jaxspin.MemoryBudgetError: the outputs do not fit in host RAM, or one chunk does
            not fit on a device; the message gives the size.

    Numbers do not depend on the devices or the chunking: every point is computed by the
    same compiled kernel in a block of ``block_size`` points, so sharded, unsharded and
    resumed sweeps agree bit for bit (tested) as long as the block size is the same, which
    it is whenever ``chunk_size / len(devices) >= block_size``.

    Memory: the full output and its status codes (1 byte per point) live in host RAM
    (checked with ``check_fits`` before any work). A device holds one chunk's inputs and
    outputs (two on GPU/TPU, where the next chunk is computed while the previous one is
    copied to host and written) plus one block's intermediates; this is checked from the
    compiled chunk's memory analysis.

    Multi-host: with ``jax.process_count() > 1`` (each host started the same script and
    called ``jax.distributed.initialize(coordinator_address, num_processes, process_id)``
    first), ``checkpoint`` is required and must be a directory all hosts share. Process
    ``p`` computes chunks ``i`` with ``i % process_count == p`` on its local devices and
    writes them there; after a barrier (JAX's ``multihost_utils.sync_global_devices``)
    every process assembles the full result from the files, identical bit for bit to a
    one-process sweep (tested with two ``jax.distributed`` processes on CPU). Each process
    locks its own ``process-<p>.lock``, so a second launch of the same run is refused. If
    a host dies, the others do not wait for ever: on CPU the barrier fails at once (gloo),
    and the distributed service ends every survivor once the dead host's heartbeats stop
    (``heartbeat_timeout_seconds`` of ``jax.distributed.initialize``, default 100 s).
    Relaunch all of them and the sweep computes only the chunks not on disk.

    Example:
        >>> import numpy as np, jaxspin
        >>> def lorentzian(detuning, width):
        ...     return {"absorption": width / (detuning**2 + width**2)}
        >>> r = jaxspin.sweep(lorentzian, {"detuning": np.linspace(-5, 5, 101),
        ...                                "width": np.array([0.5, 1.0])},
        ...                   units={"detuning": "MHz", "width": "MHz"}, progress=False)
        >>> r["absorption"].shape
        (101, 2)
    """
    if not callable(fn):
        raise ValueError(f"`fn` must be callable; got {type(fn).__name__}.")
    for flag, name in ((product, "product"), (throw, "throw")):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"`{name}` must be a bool; got {flag!r}.")
    if not isinstance(desc, str):
        raise ValueError(f"`desc` must be a str; got {type(desc).__name__}.")
    if on_chunk is not None and not callable(on_chunk):
        raise ValueError(f"`on_chunk` must be callable or None; got {type(on_chunk).__name__}.")
    g = _as_grid(grid, bool(product))
    devices = _check_devices(devices)
    _check_positive(chunk_size, "chunk_size")
    _check_positive(block_size, "block_size")
    process, n_processes = jax.process_index(), jax.process_count()
    if n_processes > 1 and checkpoint is None:
        raise ValueError(
            "A multi-host sweep (jax.process_count() > 1) needs `checkpoint`: a directory "
            "shared by all hosts, through which they exchange finished chunks."
        )

    point = _point_fn(fn, g.names)
    out_struct, fn_fingerprint = _trace(point, g)
    leaves, treedef = jax.tree.flatten(out_struct)
    names = output_names(out_struct)
    clash = set(names) & set(g.names)
    if clash:
        raise ValueError(f"Outputs of `fn` are named like coordinates: {sorted(clash)}; rename.")
    units = check_units(units, g.names, names)

    n = g.size
    out_bytes_per_point = sum(math.prod(s.shape) * s.dtype.itemsize for s in leaves)
    check_fits(
        n * (out_bytes_per_point + 1),
        f"The output of sweep '{desc}' ({n} points x {format_bytes(out_bytes_per_point)}, "
        "+ 1 B status)",
        device=_host_device(),
    )
    platform = devices[0].platform
    default_block = _CPU_BLOCK if platform == "cpu" else None
    bytes_per_point = out_bytes_per_point + sum(c.dtype.itemsize for c in g.coords)

    def resolve(disk: dict | None) -> dict:
        """Chunk and block size (given, else the checkpoint's, else the default) and, with a
        checkpoint, the manifest of this sweep."""
        block = block_size
        if block is None:
            block = _disk_option(disk, "block_size", default_block)
        chunk = chunk_size
        if chunk is None:
            chunk = _disk_option(disk, "chunk_size", None)
        if chunk is None:
            chunk = _default_chunk(n, bytes_per_point, devices, block)
        return {
            "fn": _fn_name(fn),
            "dims": list(g.names),
            "product": g.product,
            "grid_shape": list(g.shape),
            "grid_fingerprint": g.fingerprint(),
            "chunk_size": min(int(chunk), n),
            "block_size": None if block is None else int(block),
            "platform": platform,
            "outputs": {
                k: [list(s.shape), s.dtype.name] for k, s in zip(names, leaves, strict=True)
            },
            "fn_fingerprint": fn_fingerprint,
            "jax_version": jax.__version__,
        }

    with contextlib.ExitStack() as stack:
        ckpt = None
        if checkpoint is None:
            chosen = resolve(None)
        else:
            ckpt = stack.enter_context(Checkpoint(checkpoint))
            chosen = ckpt.open(resolve, process=process, n_processes=n_processes)
        chunk, block_size = chosen["chunk_size"], chosen["block_size"]
        n_chunks = -(-n // chunk)

        def bounds(i: int) -> tuple[int, int]:
            return i * chunk, min((i + 1) * chunk, n)

        out = [np.empty((n, *s.shape), s.dtype) for s in leaves]
        status = np.zeros(n, np.int8)

        def load(i: int) -> None:
            assert ckpt is not None
            start, stop = bounds(i)
            expected = [((stop - start, *s.shape), s.dtype) for s in leaves]
            arrays, codes = ckpt.read(i, expected)
            if throw and codes.any():
                first = start + int(np.flatnonzero(codes)[0])
                raise ValueError(
                    f"Checkpoint file {ckpt.directory / f'chunk_{i:07d}.npz'} holds "
                    f"{int(np.count_nonzero(codes))} failed point(s) of a `throw=False` run, "
                    f"the first at {_describe(g, first)}. Pass `throw=False` to load them "
                    "(NaN, with `status`), or delete the file to recompute that chunk."
                )
            for o, a in zip(out, arrays, strict=True):
                o[start:stop] = a
            status[start:stop] = codes

        mine = [i for i in range(n_chunks) if i % n_processes == process]
        done = set() if ckpt is None else ckpt.finished(n_chunks)
        for i in mine:
            if i in done:
                load(i)
        todo = [i for i in mine if i not in done]
        if todo:
            _run_chunks(
                point,
                g,
                todo,
                bounds,
                out,
                ckpt,
                devices,
                block_size,
                chunk=chunk,
                n_chunks=n_chunks,
                total=sum(stop - start for start, stop in map(bounds, mine)),
                progress=progress,
                desc=desc if n_processes == 1 else f"{desc} [process {process}/{n_processes}]",
                on_chunk=on_chunk,
                status=status,
                throw=bool(throw),
                leaves=leaves,
                names=names,
                fingerprint=fn_fingerprint,
            )
        if n_processes > 1:  # then everyone assembles the chunks the others wrote
            barrier("jaxspin.sweep: chunks")
            for i in range(n_chunks):
                if i % n_processes != process:
                    load(i)

    values = jax.tree.unflatten(
        treedef, [o.reshape(g.shape + s.shape) for o, s in zip(out, leaves, strict=True)]
    )
    coords = dict(zip(g.names, g.coords, strict=True))
    return SweepResult(g.dims, coords, values, units, _fn_name(fn), status.reshape(g.shape))


def _disk_option(disk: dict | None, key: str, default: int | None) -> int | None:
    """An option from the manifest on disk when it is a valid one (a positive int, or None
    for ``block_size``); otherwise ``default`` (the manifest check then names the clash)."""
    if disk is None or key not in disk:
        return default
    value = disk[key]
    if value is None and key == "block_size":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return default


def _describe(g: _Grid, flat: int) -> str:
    """A point in words: its coordinates, flat index and (product grid) grid index."""
    values = [c[0].item() for c in g.points(np.array([flat]))]
    where = ", ".join(f"{name}={v!r}" for name, v in zip(g.names, values, strict=True))
    index = f", grid index {tuple(int(k) for k in np.unravel_index(flat, g.shape))}"
    return f"{where} (flat index {flat}{index if g.product else ''})"


def _lower(
    point: Callable, g: _Grid, devices: list[jax.Device], chunk: int, block_size: int | None
) -> tuple[Any, NamedSharding, int, int]:
    """The chunk program, lowered. Inputs are ``(len(devices), local)`` arrays sharded
    along their first axis (device ``k`` holds flat points ``k*local .. (k+1)*local - 1``);
    ``vmap`` over that axis of ``lax.map(vmap(point), batch_size=block)`` over the second,
    which XLA partitions into one independent loop per device. Returns the lowered program,
    the input sharding, the block size and the padded chunk length.

    This is plain ``jit`` with shardings, not ``shard_map``: inside ``shard_map`` (jax 0.10)
    ``eqx.error_if`` fails the replication check and lineax rejects its own vectors (their
    types carry the manual mesh), and jaxspin's kernels use both.
    """
    block, padded = _layout(chunk, len(devices), block_size)
    local = padded // len(devices)
    sharding = NamedSharding(Mesh(np.asarray(devices), ("points",)), PartitionSpec("points"))

    def on_device(*args):  # always lax.map (even for one block): the same code on any layout
        return jax.lax.map(lambda xs: point(*xs), args, batch_size=block)

    # jaxspin's own checks in `point` are deferred (returned per device, raised on the host
    # by `_leaves`): no host callback, so the chunk program is cacheable (jaxspin/_checks.py)
    shape = (len(devices), local)
    abstract = [jax.ShapeDtypeStruct(shape, c.dtype, sharding=sharding) for c in g.coords]
    if not _checks.can_defer():
        run = jax.jit(jax.vmap(on_device), in_shardings=sharding, out_shardings=sharding)
        return run.lower(*abstract), sharding, block, padded
    try:
        run = jax.jit(
            jax.vmap(_checks.checkified(on_device)), in_shardings=sharding, out_shardings=sharding
        )
        with _checks.deferred_checks():
            lowered = run.lower(*abstract)
    except ValueError as e:  # checkify refused the kernel: callback checks
        if not _checks.is_checkify_limit(e):
            raise
        run = jax.jit(
            jax.vmap(_checks.unchecked(on_device)), in_shardings=sharding, out_shardings=sharding
        )
        lowered = run.lower(*abstract)
    return lowered, sharding, block, padded


def _compiled(
    point: Callable,
    g: _Grid,
    devices: list[jax.Device],
    chunk: int,
    block_size: int | None,
    fingerprint: str,
) -> tuple[Any, NamedSharding, int, int]:
    """:func:`_lower`'s program, compiled; re-used from :data:`_PROGRAMS` when the same
    computation (``fingerprint``, see :func:`_trace`) was compiled for the same coordinate
    dtypes, devices, chunk, block and check mode."""
    key = (
        fingerprint,
        tuple(str(c.dtype) for c in g.coords),
        tuple(devices),
        chunk,
        block_size,
        _checks.can_defer(),
    )
    if key in _PROGRAMS:
        _PROGRAMS.move_to_end(key)
        return _PROGRAMS[key]
    lowered, sharding, block, padded = _lower(point, g, devices, chunk, block_size)
    program = (lowered.compile(), sharding, block, padded)
    if _reusable(point, g):
        _PROGRAMS[key] = program
        while len(_PROGRAMS) > _PROGRAMS_MAX:
            _PROGRAMS.popitem(last=False)
    return program


def _leaves(out: Any) -> list[jax.Array]:
    """The output arrays of a chunk program; a deferred check that failed is raised here
    (``equinox.EquinoxRuntimeError``), as a callback check raises when the chunk runs."""
    if _checks.can_defer():
        err, out = out
        _checks.raise_deferred(err)
    return jax.tree.leaves(out)


def _run_chunks(
    point: Callable,
    g: _Grid,
    todo: list[int],
    bounds: Callable[[int], tuple[int, int]],
    out: list[np.ndarray],
    ckpt: Checkpoint | None,
    devices: list[jax.Device],
    block_size: int | None,
    *,
    chunk: int,
    n_chunks: int,
    total: int,
    progress: bool,
    desc: str,
    on_chunk: Callable[[int, int], None] | None,
    status: np.ndarray,
    throw: bool,
    leaves: list[jax.ShapeDtypeStruct],
    names: tuple[str, ...],
    fingerprint: str,
) -> None:
    """Compute chunks ``todo`` into ``out``, ``status`` (and ``ckpt``) with one compiled
    function for all of them (on accelerators chunk ``i + 1`` is dispatched before chunk
    ``i`` is copied to host). A chunk in which the kernel raised is handed to
    :class:`_Isolate`; NaN/inf outputs are found on the host, point by point."""
    depth = _chunks_in_flight(devices[0].platform)
    t0 = time.perf_counter()
    compiled, sharding, block, padded = _compiled(point, g, devices, chunk, block_size, fingerprint)
    compile_s = time.perf_counter() - t0
    _check_chunk_fits(
        compiled,
        devices,
        depth,
        f"One chunk of sweep '{desc}' ({padded} points, "
        f"{block} per block on each of {len(devices)} device(s))",
    )
    isolate = _Isolate(point, g, devices[0], block, leaves, desc, throw)

    def where(i: int) -> str:
        start, stop = bounds(i)
        return f"in chunk {i} (flat points {start}..{stop - 1}) of sweep '{desc}'"

    def launch(i: int) -> list[jax.Array] | Exception:
        start, stop = bounds(i)
        # Padding repeats the chunk's last point: a valid input, never NaN or 0/0.
        flat = np.minimum(np.arange(start, start + padded), stop - 1)
        args = [jax.device_put(x.reshape(len(devices), -1), sharding) for x in g.points(flat)]
        with _note(where(i)):
            return _kernel_error_or(lambda: _leaves(compiled(*args)))

    def store(i: int, results: list[jax.Array] | Exception) -> None:
        start, stop = bounds(i)
        if not isinstance(results, Exception):
            with _note(where(i)):
                results = _kernel_error_or(
                    lambda: [
                        np.asarray(r).reshape(-1, *r.shape[2:])[: stop - start] for r in results
                    ]
                )
        if isinstance(results, Exception):
            host, codes = isolate(start, stop, results)
        else:
            host, codes = results, np.zeros(stop - start, np.int8)
        bad = (codes == POINT_OK) & _nonfinite(host)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            if throw:
                which = [n for n, h in zip(names, host, strict=True) if _nonfinite([h])[first]]
                raise FloatingPointError(
                    f"`fn` returned NaN or inf at {int(bad.sum())} of {stop - start} points "
                    f"{where(i)}; the first is {_describe(g, start + first)}, in output(s) "
                    f"{which}. If NaN/inf are expected there, pass `throw=False`: such points "
                    "are then kept and flagged (`status == 1`) and the sweep goes on."
                )
            codes[bad] = POINT_NONFINITE  # the values stay as the kernel computed them
        for o, h in zip(out, host, strict=True):
            o[start:stop] = h
        status[start:stop] = codes
        if ckpt is not None:
            ckpt.write(i, host, codes)

    done_before = total - sum(stop - start for start, stop in map(bounds, todo))
    computed = 0
    with Progress(total, desc, "points", enabled=progress, initial=done_before) as bar:
        t0 = time.perf_counter()

        def finish(i: int, results: list[jax.Array] | Exception) -> None:
            nonlocal computed
            store(i, results)
            start, stop = bounds(i)
            computed += stop - start
            rate = computed / max(time.perf_counter() - t0, 1e-9)
            bar.update(stop - start, postfix=f"chunk {i + 1}/{n_chunks}, {rate:.3g} points/s")
            if on_chunk is not None:
                on_chunk(i, n_chunks)

        in_flight: collections.deque = collections.deque()
        for i in todo:
            in_flight.append((i, launch(i)))
            if len(in_flight) == depth:
                finish(*in_flight.popleft())
        while in_flight:
            finish(*in_flight.popleft())
    run_s = time.perf_counter() - t0
    _log.info(
        "sweep %r: %d points in %.3f s on %d %s device(s), after %.3f s trace+compile",
        desc,
        computed,
        run_s,
        len(devices),
        devices[0].platform,
        compile_s,
    )


def _is_kernel_error(e: Exception) -> bool:
    """A run-time error raised by the kernel at some point (``eqx.error_if``, an exception
    in a host callback), as opposed to a failure of the device or the runtime."""
    text = str(e)
    return "EquinoxRuntimeError" in text or "callback" in text.lower()


def _kernel_error_or(compute: Callable[[], Any]) -> Any:
    """``compute()``, or the kernel's run-time error (returned, not raised)."""
    try:
        return compute()
    except eqx.EquinoxRuntimeError as e:  # a deferred check (jaxspin/_checks.py)
        return e
    except jax.errors.JaxRuntimeError as e:
        if not _is_kernel_error(e):
            raise
        return e


def _nonfinite(host: list[np.ndarray]) -> np.ndarray:
    """Per point: does any floating output hold NaN or inf?"""
    bad = np.zeros(len(host[0]), bool)
    for h in host:
        if h.dtype.kind in "fc":
            bad |= ~np.isfinite(h.reshape(len(h), -1)).all(axis=1)
    return bad


def _fill_value(dtype: np.dtype) -> Any:
    """The output of a point where the kernel raised: NaN, -1 (unsigned: max), False."""
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return False if dtype.kind == "b" else -1


class _Isolate:
    """Recompute a chunk in which the kernel raised, to find the points where it raises.

    Block by block, with a program of one block of the chunk's block size on one device
    (the same ``lax.map(vmap(fn))`` code, so the same bits); a failing block point by
    point (a program of one point), then once more as a block with the failing points
    replaced by a good one of the block, so that the good points again get the bits of the
    chunk program. ``throw=True``: raise the first failing point's error, with a note
    naming it. Compiled on first use (a chunk that fails)."""

    def __init__(self, point, g, device, block, leaves, desc, throw):
        self.point, self.g, self.device, self.block = point, g, device, block
        self.leaves, self.desc, self.throw = leaves, desc, throw
        self.programs: dict[int, tuple[Any, NamedSharding]] = {}

    def run(self, flat: np.ndarray, width: int) -> list[np.ndarray] | Exception:
        """The outputs at flat grid indices ``flat`` (at most ``width``, padded with the
        last one) from a program of ``width`` points, or the kernel's error."""
        if width not in self.programs:
            lowered, sharding, _, _ = _lower(self.point, self.g, [self.device], width, width)
            self.programs[width] = (lowered.compile(), sharding)
        compiled, sharding = self.programs[width]
        padded = np.concatenate([flat, np.full(width - len(flat), flat[-1])])
        args = [jax.device_put(x.reshape(1, -1), sharding) for x in self.g.points(padded)]

        def compute():
            outs = _leaves(compiled(*args))
            return [np.asarray(r).reshape(-1, *r.shape[2:])[: len(flat)] for r in outs]

        return _kernel_error_or(compute)

    def __call__(
        self, start: int, stop: int, error: Exception
    ) -> tuple[list[np.ndarray], np.ndarray]:
        # JAX logs every failed host callback with its traceback: once (for the chunk) is
        # enough, not once per block and point recomputed here.
        callback_log = logging.getLogger("jax._src.callback")
        level = callback_log.level
        callback_log.setLevel(logging.CRITICAL)
        try:
            return self._isolate(start, stop, error)
        finally:
            callback_log.setLevel(level)

    def _isolate(self, start, stop, error):
        m = stop - start
        host = [np.empty((m, *s.shape), s.dtype) for s in self.leaves]
        codes = np.zeros(m, np.int8)
        for b0 in range(0, m, self.block):
            pos = np.arange(b0, min(b0 + self.block, m))
            res = self.run(start + pos, self.block)
            if isinstance(res, Exception):
                res = self._block_by_points(start, pos, codes)
            for h, r in zip(host, res, strict=True):
                h[pos] = r
        if not codes.any():
            _log.warning(
                "sweep %r: the kernel raised in flat points %d..%d, but no point raises when "
                "they are recomputed block by block; using the recomputed values. The error "
                "was: %s",
                self.desc,
                start,
                stop - 1,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
        return host, codes

    def _block_by_points(self, start, pos, codes) -> list[np.ndarray]:
        singles, good = {}, []
        for p in pos:
            res = self.run(np.array([start + p]), 1)
            if not isinstance(res, Exception):
                singles[p] = res
                good.append(p)
            else:
                if self.throw:
                    res.add_note(
                        f"`fn` raised this at {_describe(self.g, start + p)} of sweep "
                        f"'{self.desc}'. Pass `throw=False` to get NaN and `status == 2` for "
                        "such points and go on."
                    )
                    raise res
                codes[p] = POINT_RAISED
        fill = [np.full((len(pos), *s.shape), _fill_value(s.dtype), s.dtype) for s in self.leaves]
        if not good:
            return fill
        flat = np.where(codes[pos] == POINT_RAISED, start + good[0], start + pos)
        again = self.run(flat, self.block)
        ok = codes[pos] != POINT_RAISED
        for k, f in enumerate(fill):
            if isinstance(again, Exception):  # not reproducible as a block: one-point values
                for j, p in enumerate(pos):
                    if ok[j]:
                        f[j] = singles[p][k][0]
            else:
                f[ok] = again[k][ok]
        return fill


@contextlib.contextmanager
def _note(text: str):
    """Add where it happened to a run-time error of the device or runtime (the kernel's own
    errors, ``eqx.error_if``, are located point by point instead)."""
    try:
        yield
    except jax.errors.JaxRuntimeError as e:
        e.add_note(text)
        raise


def _chunks_in_flight(platform: str) -> int:
    """On accelerators the next chunk computes while the previous one is copied to host and
    written. Not on CPU: both would run on the same cores (nothing to gain)."""
    return 1 if platform == "cpu" else 2


def _check_chunk_fits(compiled: Any, devices: list[jax.Device], depth: int, what: str) -> None:
    """Refuse a chunk whose compiled buffers exceed a device's free memory. Inputs and
    outputs count ``depth`` times (chunks in flight); CPU devices share the host's RAM."""
    try:
        stats = compiled.memory_analysis()
    except Exception:  # pragma: no cover - backend without memory analysis
        return
    if stats is None:  # pragma: no cover
        return
    io = stats.argument_size_in_bytes + stats.output_size_in_bytes
    need = depth * io + stats.temp_size_in_bytes
    if devices[0].platform == "cpu":
        need *= len(devices)
    check_fits(need, what, device=devices[0])
