"""Memory estimates and refusals: estimate before allocating, refuse with the number.

Every code path that allocates something that grows fast with problem size (a dense
superoperator, a many-body basis, a sweep's output) calls :func:`check_fits` first, so an
impossible request fails immediately with the size it needed instead of being killed by the
operating system or failing deep inside XLA.
"""

import os

import jax


class MemoryBudgetError(MemoryError):
    """A requested computation would not fit in the memory available to it."""


def format_bytes(nbytes: float) -> str:
    """Human-readable size, e.g. ``'1.5 GiB'``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    raise AssertionError("unreachable")


def _host_available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover - fallback
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 1024**3


def available_memory_bytes(device: jax.Device | None = None) -> int:
    """Memory available for new arrays on ``device`` (default: JAX's default device).

    Accelerators report ``bytes_limit - bytes_in_use`` from ``device.memory_stats()``;
    the CPU reports the host's ``MemAvailable``. The environment variable
    ``JAXSPIN_MEMORY_LIMIT`` (bytes, or with a ``K``/``M``/``G`` suffix) caps the answer,
    which is how tests exercise the refusals.
    """
    if device is None:
        device = jax.devices()[0]
    available = None
    if device.platform != "cpu":
        try:
            stats = device.memory_stats() or {}
            if "bytes_limit" in stats:
                available = int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
        except Exception:  # pragma: no cover - backend without stats
            available = None
    if available is None:
        available = _host_available_bytes()
    limit = os.environ.get("JAXSPIN_MEMORY_LIMIT")
    if limit:
        available = min(available, parse_bytes(limit))
    return available


def parse_bytes(text: str) -> int:
    """Parse ``'512M'``, ``'2G'``, ``'1000'`` into bytes."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    if text and text[-1] in scale:
        return int(float(text[:-1]) * scale[text[-1]])
    return int(float(text))


def check_fits(
    nbytes: float, what: str, *, device: jax.Device | None = None, fraction: float = 0.8
) -> None:
    """Raise :class:`MemoryBudgetError` if ``nbytes`` exceeds ``fraction`` of the memory
    available on ``device``. ``what`` names the allocation in the message."""
    available = available_memory_bytes(device)
    budget = fraction * available
    if nbytes > budget:
        dev = device if device is not None else jax.devices()[0]
        raise MemoryBudgetError(
            f"{what} needs about {format_bytes(nbytes)}, but only {format_bytes(budget)} "
            f"({fraction:.0%} of {format_bytes(available)} available on {dev}) may be used. "
            "Reduce the problem size or the chunk/batch size."
        )
