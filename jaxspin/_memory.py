"""Memory estimates and refusals: estimate before allocating, refuse with the number.

Every code path that allocates something that grows fast with problem size (a dense
superoperator, a many-body basis, a sweep's output) calls :func:`check_fits` first, so an
impossible request fails immediately with the size it needed instead of being killed by the
operating system or failing deep inside XLA.
"""

import math
import os

import jax


class MemoryBudgetError(MemoryError):
    """A requested computation would not fit in the memory available to it."""


def format_bytes(nbytes: float) -> str:
    """Human-readable size of ``nbytes`` [bytes], in binary units (B, KiB, ..., TiB).

    Example:
        >>> import jaxspin
        >>> jaxspin.format_bytes(1.5 * 2**30)
        '1.5 GiB'
    """
    try:
        value = float(nbytes)
    except OverflowError:  # a Python int beyond float range (e.g. 2**2000 basis states)
        return f"about 2^{int(nbytes).bit_length() - 1} B"
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
    ``JAXSPIN_MEMORY_LIMIT`` (bytes, or with a ``K``/``M``/``G``/``T`` suffix) caps the
    answer, which is how tests exercise the refusals; a value that is not such a size
    raises ``ValueError`` naming the variable.
    """
    if device is None:
        device = jax.devices()[0]
    elif not hasattr(device, "platform"):  # duck-typed: anything with jax.Device's fields
        raise TypeError(f"`device` must be a jax.Device or None; got {type(device).__name__}.")
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
        try:
            value = parse_bytes(limit)
        except ValueError as err:
            raise ValueError(f"JAXSPIN_MEMORY_LIMIT: {err}") from None
        available = min(available, value)
    return available


def parse_bytes(text: str) -> int:
    """Parse ``'512M'``, ``'2G'``, ``'1.5GiB'``, ``'1000'`` into bytes (binary units).

    Raises ``ValueError`` unless ``text`` is a finite, non-negative size."""
    if not isinstance(text, str):
        raise TypeError(f"a size must be a string like '512M'; got {type(text).__name__}.")
    body = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    factor = 1
    if body and body[-1] in scale:
        body, factor = body[:-1], scale[body[-1]]
    try:
        value = float(body) * factor
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"{text!r} is not a size: give bytes, or a number with a K/M/G/T suffix "
            "(binary units), >= 0."
        )
    return int(value)


def check_fits(
    nbytes: float, what: str, *, device: jax.Device | None = None, fraction: float = 0.8
) -> None:
    """Raise :class:`MemoryBudgetError` if ``nbytes`` exceeds ``fraction`` of the memory
    available on ``device``. ``what`` names the allocation in the message.

    ``nbytes`` must be a finite number ``>= 0`` [bytes] and ``fraction`` in ``(0, 1]``
    (``ValueError`` otherwise: a NaN estimate must not pass as "fits")."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int | float):
        try:  # NumPy / 0-d JAX scalars
            nbytes = float(nbytes)
        except (TypeError, ValueError):
            raise TypeError(f"`nbytes` must be a number; got {type(nbytes).__name__}.") from None
    finite = isinstance(nbytes, int) or math.isfinite(nbytes)  # ints of any size are finite
    if not (finite and nbytes >= 0):
        raise ValueError(f"`nbytes` must be a finite number >= 0; got {nbytes!r} ({what}).")
    if isinstance(fraction, bool) or not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise ValueError(f"`fraction` must be a number in (0, 1]; got {fraction!r}.")
    available = available_memory_bytes(device)
    budget = fraction * available
    if nbytes > budget:
        dev = device if device is not None else jax.devices()[0]
        raise MemoryBudgetError(
            f"{what} needs about {format_bytes(nbytes)}, but only {format_bytes(budget)} "
            f"({fraction:.0%} of {format_bytes(available)} available on {dev}) may be used. "
            "Reduce the problem size or the chunk/batch size."
        )
