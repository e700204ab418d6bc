"""The checkpoint directory of a sweep: a manifest, a lock, and one file per finished chunk.

Layout::

    <directory>/manifest.json       what the sweep is (grid, chunking, outputs, fn)
    <directory>/chunk_0000012.npz   outputs of chunk 12: arrays "0", "1", ... (tree order),
                                    "status" (per-point result codes) and "meta" (the chunk
                                    index, the sweep it belongs to and a sha256 of the arrays)
    <directory>/process-0.lock      held (``flock``) by the process using the directory

Every file is written to a temporary name (``<name>.tmp.<host>.<pid>``), flushed to disk and
moved into place with ``os.replace``, so a file is either absent or complete, whenever the
process is killed. Finished chunks of a sweep whose manifest matches are loaded instead of
recomputed; a chunk file that cannot be read, belongs to another chunk or another sweep, or
whose arrays do not match their checksum is refused with an error naming the file (delete it
and the chunk is recomputed): nothing on disk is used unless it is verified.
"""

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import jax
import numpy as np


try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

_log = logging.getLogger("jaxspin.sweep")
_MANIFEST = "manifest.json"
_FORMAT = "jaxspin.sweep.checkpoint"
_CHUNK_FORMAT = "jaxspin.sweep.chunk"
# Version 2: chunks carry status, index, sweep id and checksum; the manifest has block_size
# and platform. A version-1 directory (older jaxspin) is refused as a different sweep.
_VERSION = 2
# The manifest entries that must agree to reuse chunks, and how to name them in an error.
_MUST_MATCH = {
    "version": "the checkpoint format (a missing version: written by an older jaxspin)",
    "dims": "the grid's coordinate names",
    "product": "the `product` flag",
    "grid_shape": "the grid's shape",
    "grid_fingerprint": "the grid's coordinate values",
    "chunk_size": "`chunk_size`",
    "block_size": "`block_size`",
    "platform": "the device platform (chunks computed on other hardware differ in the last bits)",
    "outputs": "the outputs' names, shapes or dtypes",
    "fn_fingerprint": "the traced computation of `fn` (its code, a value bound into it by "
    "partial or closure, or the JAX version)",
}
_HASHES = ("grid_fingerprint", "fn_fingerprint")
# What a chunk file may fail with when it is damaged (truncated, not a zip, edited).
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def barrier(name: str) -> None:
    """Wait until every process of a multi-host run reaches the barrier ``name``.

    The barrier is JAX's own (``multihost_utils.sync_global_devices``: an all-gather over
    every device of the ``jax.distributed`` run; on CPU through JAX's default gloo
    collectives). If another process has died it fails instead of waiting (gloo: the
    connection is closed; the distributed service also ends the survivors when the dead
    process's heartbeats stop); the error then says how to resume.
    """
    from jax.experimental import multihost_utils

    try:
        multihost_utils.sync_global_devices(name)
    except Exception as e:
        e.add_note(
            f"At the barrier {name!r} of a {jax.process_count()}-process jaxspin.sweep: "
            "another process has probably stopped. Relaunch all processes with the same "
            "`checkpoint`; the finished chunks are reused."
        )
        raise


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def write_atomic(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """``write(file)`` to a temporary file next to ``path``, then move it into place."""
    tmp = path.with_name(f"{path.name}.tmp.{_host()}.{os.getpid()}")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _orphaned(tmp: Path) -> bool:
    """Whether a temporary file was left by a process of this host that no longer runs
    (or by this process, in an earlier call). ``<name>.tmp.<pid>`` (older jaxspin) counts
    as this host's."""
    tail = tmp.name.rsplit(".tmp.", 1)[-1]
    host, _, pid = tail.rpartition(".")
    if host and host != _host():
        return False  # another host's (shared file system): it may be writing it now
    if not pid.isdigit():
        return False
    return int(pid) == os.getpid() or not _pid_alive(int(pid))


def _digest(index: int, sweep_id: str, arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256(f"{_CHUNK_FORMAT} {index} {sweep_id}".encode())
    for a in arrays:
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class Checkpoint:
    """A sweep's checkpoint directory (created if missing), locked while in use.

    Use as a context manager: :meth:`open` takes the lock, which ``__exit__`` releases.
    """

    def __init__(self, directory: str | os.PathLike):
        if isinstance(directory, str) and not directory.strip():
            raise ValueError("`checkpoint` must name a directory; got an empty string.")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"`checkpoint` {str(self.directory)!r} is a file, not a directory.")
        self._lock_fd: int | None = None
        self._sweep_id = ""

    def __enter__(self) -> "Checkpoint":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the lock (also released by the OS when the process ends)."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                if fcntl is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # --------------------------------------------------------------------------- the lock

    def _lock(self, process: int) -> None:
        """Take ``process-<p>.lock`` with a non-blocking ``flock``, or say who holds it."""
        path = self.directory / f"process-{process}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:  # pragma: no cover - not POSIX
            _log.warning("No fcntl on this platform: %s is not locked.", self.directory)
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RuntimeError(
                f"The checkpoint directory {self.directory} is in use by another sweep "
                f"(process {holder} holds {path.name}). Wait for it to finish, or give "
                "another `checkpoint` directory. The lock is released when that process "
                "ends, however it ends."
            ) from None
        except OSError as e:  # a file system without flock (some network file systems)
            _log.warning(
                "Cannot lock %s (%s): nothing stops a second sweep from using it at the same time.",
                path,
                e.strerror,
            )
        self._lock_fd = fd  # from here on close() releases it, whatever fails next
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} on host {socket.gethostname()}\n".encode(), 0)

    # ----------------------------------------------------------------------- the manifest

    def _manifest_on_disk(self) -> dict | None:
        path = self.directory / _MANIFEST
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(
                f"The checkpoint manifest {path} cannot be read ({e}). Without it the chunk "
                f"files in {self.directory} cannot be checked: delete the directory to start "
                "the sweep over, or give another `checkpoint` directory."
            ) from e
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise ValueError(
                f"{path} is not a jaxspin sweep checkpoint manifest; give another "
                "`checkpoint` directory."
            )
        return manifest

    def _write_manifest(self, manifest: dict) -> None:
        text = json.dumps({"format": _FORMAT, **manifest}, indent=1).encode()
        write_atomic(self.directory / _MANIFEST, lambda f: f.write(text))

    def open(
        self,
        resolve: Callable[[dict | None], dict],
        *,
        process: int = 0,
        n_processes: int = 1,
    ) -> dict:
        """Lock the directory, then write the manifest or check it against the one on disk;
        return the manifest of this sweep.

        ``resolve(disk)`` returns this sweep's manifest given the one on disk (``None`` if
        there is none), so that options the caller left unset (``chunk_size``,
        ``block_size``) are taken from the disk. In a multi-host run process 0 writes the
        manifest and every process then checks it; every process locks its own
        ``process-<p>.lock``, so a second run with the same process index is refused.
        Temporary files left by processes of this host that no longer run are removed
        (one-process runs only; in a multi-host run another process may be writing).
        """
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock(process)
        except OSError as e:
            raise ValueError(
                f"`checkpoint` {str(self.directory)!r} cannot be used ({e.strerror}); give a "
                "writable directory."
            ) from None
        if n_processes == 1:  # leftovers of a run killed while writing (never read)
            for tmp in self.directory.glob("*.tmp.*"):
                if _orphaned(tmp):
                    tmp.unlink(missing_ok=True)
        else:  # process 0 writes the manifest, then everyone checks it
            if process == 0 and self._manifest_on_disk() is None:
                self._write_manifest({"version": _VERSION, **resolve(None)})
            barrier("jaxspin.sweep: manifest")
        disk = self._manifest_on_disk()
        now = {"version": _VERSION, **resolve(disk)}
        self._sweep_id = hashlib.sha256(
            json.dumps({k: now[k] for k in _MUST_MATCH}, sort_keys=True).encode()
        ).hexdigest()
        if disk is None:
            if any(self.directory.glob("chunk_*.npz")):
                raise ValueError(
                    f"{self.directory} holds chunk files but no {_MANIFEST}; "
                    "give an empty or new `checkpoint` directory."
                )
            self._write_manifest(now)
            return now
        diffs = [
            f"{hint} differ" if k in _HASHES else f"{hint}: {disk.get(k)!r} on disk, {now[k]!r} now"
            for k, hint in _MUST_MATCH.items()
            if disk.get(k) != now[k]
        ]
        if diffs:
            raise ValueError(
                f"The checkpoint in {self.directory} belongs to a different sweep (fn "
                f"{disk.get('fn')!r} there, {now.get('fn')!r} now). Changed: "
                + "; ".join(diffs)
                + ". Its finished chunks cannot be reused: pass another `checkpoint` "
                "directory or delete this one."
            )
        return now

    # ------------------------------------------------------------------------- the chunks

    def _path(self, i: int) -> Path:
        return self.directory / f"chunk_{i:07d}.npz"

    def finished(self, n_chunks: int) -> set[int]:
        """Indices of the chunks on disk."""
        done = set()
        for name in os.listdir(self.directory):
            m = re.fullmatch(r"chunk_(\d+)\.npz", name)
            if m and int(m.group(1)) < n_chunks:
                done.add(int(m.group(1)))
        return done

    def write(self, i: int, arrays: list[np.ndarray], status: np.ndarray) -> None:
        """Store chunk ``i``: its output arrays and per-point status codes."""
        named = {str(k): a for k, a in enumerate(arrays)} | {"status": status}
        meta = {
            "format": _CHUNK_FORMAT,
            "index": i,
            "sweep": self._sweep_id,
            "sha256": _digest(i, self._sweep_id, [*arrays, status]),
        }
        named["meta"] = np.array(json.dumps(meta))
        write_atomic(self._path(i), lambda f: np.savez(f, **named))

    def read(
        self, i: int, expected: list[tuple[tuple[int, ...], np.dtype]]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """The arrays and status codes of chunk ``i``, checked against ``expected`` (shape,
        dtype) pairs, the chunk's index, the sweep and the checksum."""
        path = self._path(i)
        again = "; delete it to recompute that chunk."
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = sorted({*map(str, range(len(expected))), "status", "meta"} - set(f.files))
                if not missing:
                    arrays = [f[str(k)] for k in range(len(expected))]
                    status = f["status"]
                    meta = json.loads(str(f["meta"]))
        except _READ_ERRORS as e:
            raise ValueError(
                f"Checkpoint file {path} cannot be read ({type(e).__name__}: {e}){again}"
            ) from e
        if missing:
            raise ValueError(
                f"Checkpoint file {path} lacks the arrays {missing} (written by an older "
                f"jaxspin, or not a chunk file){again}"
            )
        if not isinstance(meta, dict) or meta.get("format") != _CHUNK_FORMAT:
            raise ValueError(f"Checkpoint file {path} is not a jaxspin chunk file{again}")
        if meta.get("index") != i:
            raise ValueError(
                f"Checkpoint file {path} holds chunk {meta.get('index')!r}, not chunk {i} "
                f"(renamed or copied){again}"
            )
        if meta.get("sweep") != self._sweep_id:
            raise ValueError(
                f"Checkpoint file {path} belongs to another sweep than the manifest of "
                f"{self.directory} describes (copied from another directory?){again}"
            )
        n_points = expected[0][0][0] if expected else status.shape[0]
        for a, (shape, dtype) in zip(arrays, expected, strict=True):
            if a.shape != shape or a.dtype != dtype:
                raise ValueError(
                    f"Checkpoint file {path} holds {a.dtype}{list(a.shape)}, expected "
                    f"{np.dtype(dtype)}{list(shape)}{again}"
                )
        if status.shape != (n_points,) or status.dtype != np.int8:
            raise ValueError(f"Checkpoint file {path} holds a malformed status array{again}")
        if meta.get("sha256") != _digest(i, self._sweep_id, [*arrays, status]):
            raise ValueError(
                f"Checkpoint file {path} does not match its checksum (damaged or edited){again}"
            )
        return arrays, status
