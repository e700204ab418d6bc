"""The checkpoint directory of a sweep: a manifest and one file per finished chunk.

Layout::

    <directory>/manifest.json       what the sweep is (grid, chunking, outputs, fn)
    <directory>/chunk_0000012.npz   outputs of chunk 12, arrays "0", "1", ... (tree order)

Every file is written to a temporary name, flushed to disk and moved into place with
``os.replace``, so a file is either absent or complete, whenever the process is killed.
Finished chunks of a sweep whose manifest matches are loaded instead of recomputed.
"""

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import jax
import numpy as np


_MANIFEST = "manifest.json"
_FORMAT = "jaxspin.sweep.checkpoint"
# The manifest entries that must agree to reuse chunks, and how to name them in an error.
_MUST_MATCH = {
    "dims": "the grid's coordinate names",
    "product": "the `product` flag",
    "grid_shape": "the grid's shape",
    "grid_fingerprint": "the grid's coordinate values",
    "chunk_size": "`chunk_size`",
    "outputs": "the outputs' names, shapes or dtypes",
    "fn_fingerprint": "the traced computation of `fn` (its code, a value bound into it by "
    "partial or closure, or the JAX version)",
}
_HASHES = ("grid_fingerprint", "fn_fingerprint")


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


def write_atomic(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """``write(file)`` to a temporary file next to ``path``, then move it into place."""
    tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Checkpoint:
    """A sweep's checkpoint directory (created if missing)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def _manifest_on_disk(self) -> dict | None:
        path = self.directory / _MANIFEST
        if not path.exists():
            return None
        manifest = json.loads(path.read_text())
        if manifest.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a jaxspin sweep checkpoint manifest.")
        return manifest

    def _write_manifest(self, manifest: dict) -> None:
        text = json.dumps({"format": _FORMAT, **manifest}, indent=1).encode()
        write_atomic(self.directory / _MANIFEST, lambda f: f.write(text))

    def open(
        self,
        manifest_for: Callable[[int], dict],
        chunk_size: int | None,
        default_chunk: int,
        *,
        process: int = 0,
        n_processes: int = 1,
    ) -> int:
        """Write the manifest, or check it against the one on disk; return the chunk size.

        The chunk size is ``chunk_size`` if given, else the one on disk (the default depends
        on the free memory, which changes between runs), else ``default_chunk``. In a
        multi-host run process 0 writes the manifest and every process then checks it.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        if n_processes == 1:  # leftovers of a run killed while writing (never read)
            for tmp in self.directory.glob("*.tmp.*"):
                tmp.unlink(missing_ok=True)
        else:  # process 0 writes the manifest, then everyone checks it
            if process == 0 and self._manifest_on_disk() is None:
                self._write_manifest(manifest_for(chunk_size or default_chunk))
            barrier("jaxspin.sweep: manifest")
        disk = self._manifest_on_disk()
        if chunk_size is None:
            chunk_size = default_chunk if disk is None else int(disk["chunk_size"])
        now = manifest_for(chunk_size)
        if disk is None:
            if any(self.directory.glob("chunk_*.npz")):
                raise ValueError(
                    f"{self.directory} holds chunk files but no {_MANIFEST}; "
                    "give an empty or new `checkpoint` directory."
                )
            self._write_manifest(now)
            return chunk_size
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
        return chunk_size

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

    def write(self, i: int, arrays: list[np.ndarray]) -> None:
        named = {str(k): a for k, a in enumerate(arrays)}
        write_atomic(self._path(i), lambda f: np.savez(f, **named))

    def read(self, i: int, expected: list[tuple[tuple[int, ...], np.dtype]]) -> list[np.ndarray]:
        """The arrays of chunk ``i``, checked against ``expected`` (shape, dtype) pairs."""
        path = self._path(i)
        with np.load(path, allow_pickle=False) as f:
            arrays = [f[str(k)] for k in range(len(expected))]
        for a, (shape, dtype) in zip(arrays, expected, strict=True):
            if a.shape != shape or a.dtype != dtype:
                raise ValueError(
                    f"Checkpoint file {path} holds {a.dtype}{list(a.shape)}, expected "
                    f"{np.dtype(dtype)}{list(shape)}; delete it to recompute that chunk."
                )
        return arrays
