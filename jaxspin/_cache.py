"""The persistent compilation cache: compiled XLA programs kept on disk between processes.

Within one process JAX compiles a jitted function once per shape; a new process compiles
everything again, and on a small CPU that is most of the time to a first result. With the
persistent cache on, every compiled executable is written to a folder and a later process
with the same program, shapes, flags and versions reads it back instead of compiling.

JAX never writes a program with host callbacks to the cache; jaxspin's value checks are
therefore staged without callbacks when a function is called from Python (deferred checks,
:mod:`jaxspin._checks`), so the programs of such calls are cacheable.

Where it is on:

* ``jaxspin figures``: **on by default**. ``jaxspin bench`` leaves it off (it measures
  compile times; ``JAXSPIN_COMPILATION_CACHE=1`` turns it on there too).
* The library: **opt-in**, either :func:`enable_compilation_cache` or
  ``JAXSPIN_COMPILATION_CACHE=1`` (or a folder path) in the environment before
  ``import jaxspin``. ``JAXSPIN_COMPILATION_CACHE=0`` switches it off everywhere,
  the command line included.

The folder is per user and per machine type: ``$JAXSPIN_CACHE_DIR`` if set, else
``$XDG_CACHE_HOME/jaxspin`` or ``~/.cache/jaxspin``, then ``xla-<fingerprint>``, a hash of
the jax and jaxlib versions, the CPU model and its feature flags. XLA:CPU executables are
compiled for the host's instruction set and a mismatched one is only *warned* about when
loaded (it can then die of SIGILL), so a home folder shared across a cluster with
different CPUs must not share entries. The folder is kept below ``max_bytes`` (default
1 GiB) by deleting the oldest entries when the cache is enabled. A damaged entry (a
process killed while writing it) is not fatal: JAX warns and compiles again; delete the
folder to clear it.

XLA's log: on some CPUs (seen on an AVX-512 Intel Xeon) XLA logs an error-level
"Target machine feature +prefer-no-gather is not supported on the host" for every
executable read from the cache, although it was compiled on this very host (the names are
LLVM tuning options, not CPU features). When the cache is requested before JAX is imported
and ``TF_CPP_MIN_LOG_LEVEL`` is unset, jaxspin sets it to 3 (XLA's C++ log: fatal messages
only; Python-level JAX warnings and errors are unaffected). Set ``TF_CPP_MIN_LOG_LEVEL=0``
to see everything.
"""

import hashlib
import os
import platform
import sys
from pathlib import Path


ENV = "JAXSPIN_COMPILATION_CACHE"
_OFF = {"0", "off", "false", "no"}
_ON = {"1", "on", "true", "yes"}
DEFAULT_MAX_BYTES = 1 << 30


def _cpu_description() -> str:
    """CPU model and feature flags (Linux ``/proc/cpuinfo``; elsewhere ``platform``)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    keep = []
    for line in text.splitlines():
        key = line.split(":", 1)[0].strip()
        if key in ("model name", "flags", "Features", "CPU part", "CPU implementer"):
            keep.append(line)
        elif not line.strip() and keep:
            break  # the first processor describes them all
    return platform.machine() + "\n" + "\n".join(keep)


def host_fingerprint() -> str:
    """12 hex digits naming the jax/jaxlib versions and the CPU (model and flags)."""
    import jax
    import jaxlib

    text = "\n".join([jax.__version__, jaxlib.__version__, _cpu_description()])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_cache_dir() -> Path:
    """``$JAXSPIN_CACHE_DIR`` (else ``$XDG_CACHE_HOME/jaxspin``, else ``~/.cache/jaxspin``)
    ``/ xla-<host_fingerprint()>``."""
    root = os.environ.get("JAXSPIN_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = str(Path(xdg) / "jaxspin") if xdg else str(Path.home() / ".cache" / "jaxspin")
    return Path(root).expanduser() / f"xla-{host_fingerprint()}"


def _prune(folder: Path, max_bytes: int) -> None:
    """Delete the oldest files until the folder holds at most 80 % of ``max_bytes``."""
    files = []
    for p in folder.iterdir():
        try:
            if p.is_file():
                st = p.stat()
                files.append((st.st_mtime, st.st_size, p))
        except OSError:  # removed by another process meanwhile
            continue
    total = sum(size for _, size, _ in files)
    if total <= max_bytes:
        return
    for _, size, p in sorted(files):
        if total <= 0.8 * max_bytes:
            break
        try:
            p.unlink()
            total -= size
        except OSError:
            continue


def enable_compilation_cache(
    path: str | os.PathLike | None = None,
    *,
    min_compile_time_s: float = 0.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Keep compiled programs on disk so later processes skip their compilation.

    Arguments:
        path: the cache folder (created); default :func:`default_cache_dir` (per user
            and machine type, see the module docstring).
        min_compile_time_s: only programs that took at least this long to compile are
            written (seconds; JAX's default is 1 s, jaxspin's 0: on a 2-core CPU the many
            0.1-1 s compilations are what a first result waits for).
        max_bytes: the folder is pruned (oldest entries first) to 80 % of this when it
            is larger, now; JAX itself does not bound it.

    Returns:
        The folder in use. Takes effect for compilations from now on, in this process.
        Applies to every JAX program of the process, not only jaxspin's.
    """
    import jax

    if not (isinstance(min_compile_time_s, (int, float)) and min_compile_time_s >= 0):
        raise ValueError(f"`min_compile_time_s` must be >= 0 seconds; got {min_compile_time_s!r}.")
    if not (isinstance(max_bytes, int) and max_bytes > 0):
        raise ValueError(f"`max_bytes` must be a positive int; got {max_bytes!r}.")
    folder = Path(path).expanduser() if path is not None else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create the cache folder {str(folder)!r}: {err}") from None
    _prune(folder, max_bytes)
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_time_s))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


def disable_compilation_cache() -> None:
    """Stop reading and writing the persistent cache in this process."""
    import jax

    jax.config.update("jax_enable_compilation_cache", False)


def compilation_cache_dir() -> Path | None:
    """The folder of the persistent cache when it is on in this process, else ``None``."""
    import jax

    folder = jax.config.jax_compilation_cache_dir
    if not folder or not jax.config.jax_enable_compilation_cache:
        return None
    return Path(folder)


def cli_command() -> str | None:
    """The ``jaxspin`` subcommand this process was started as (``jaxspin figures`` or
    ``python -m jaxspin figures``), else ``None`` (a library import)."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if len(argv) >= 3 and argv[1] == "-m" and argv[2] == "jaxspin":
        args = argv[3:]
    elif Path(sys.argv[0]).name == "jaxspin":
        args = sys.argv[1:]
    else:
        return None
    return next((a for a in args if not a.startswith("-")), None)


def requested() -> str | None:
    """What the environment asks for: ``None`` (off), ``""`` (the default folder) or a
    folder path. Unset or blank: on for ``jaxspin figures``, off otherwise."""
    value = os.environ.get(ENV, "").strip()
    if not value:  # unset or blank
        return "" if cli_command() == "figures" else None
    if value.lower() in _OFF:
        return None
    if value.lower() in _ON:
        return ""
    return value


def quiet_xla_log() -> None:
    """Before JAX is imported: XLA's C++ log at fatal only, unless the user chose a level
    (the module docstring says why)."""
    if "jaxlib" not in sys.modules and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"


def apply_environment() -> Path | None:
    """Enable the cache when the environment (or ``jaxspin figures``) asks for it."""
    what = requested()
    if what is None:
        return None
    return enable_compilation_cache(what or None)
