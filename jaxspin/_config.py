"""Process-wide JAX settings that jaxspin applies once, when it is first imported.

* **float64 by default.** jaxspin turns on JAX's x64 mode (``jax_enable_x64``) so that
  every public function computes in float64/complex128. Opt out by setting the
  environment variable ``JAXSPIN_ENABLE_X64=0`` *before* importing jaxspin; jaxspin then
  runs in float32 and warns once that its documented tolerances no longer hold.
* **CPU devices.** ``JAXSPIN_CPU_DEVICES=auto`` (or an integer) exposes that many host
  CPU devices (``--xla_force_host_platform_device_count``) so that sweeps shard over
  cores. The ``jaxspin`` command line sets ``auto`` for its own process; a library import
  leaves the device count alone unless asked.

* **Persistent compilation cache.** ``JAXSPIN_COMPILATION_CACHE`` (and, without it,
  ``jaxspin figures``) turns it on at import; ``jaxspin/_cache.py`` explains it.

XLA flags only act if they are set before JAX starts its backends, i.e. before the first
JAX computation of the process. If a computation already ran, jaxspin warns and changes
nothing but x64.
"""

import os
import warnings

import jax

from . import _cache


_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def _backends_initialized() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except Exception:  # pragma: no cover - private API moved; assume the worst
        return False


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _xla_flags_to_add() -> list[str]:
    flags = os.environ.get("XLA_FLAGS", "")
    add = []
    devices = os.environ.get("JAXSPIN_CPU_DEVICES", "")
    if devices and _DEVICE_COUNT_FLAG not in flags:
        count = _usable_cpus() if devices == "auto" else int(devices)
        if count > 1:
            add.append(f"{_DEVICE_COUNT_FLAG}={count}")
    return add


def apply() -> None:
    """Apply jaxspin's process-wide settings (idempotent; called by ``import jaxspin``)."""
    add = _xla_flags_to_add()
    if add:
        if _backends_initialized():
            warnings.warn(
                "jaxspin: JAX backends were started before jaxspin was imported, so the "
                f"XLA flags {add} could not be applied. Import jaxspin first, or set "
                "XLA_FLAGS yourself (see jaxspin/_config.py).",
                RuntimeWarning,
                stacklevel=3,
            )
        else:
            os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *add]).strip()
    if os.environ.get("JAXSPIN_ENABLE_X64", "1") == "0":
        warnings.warn(
            "jaxspin: JAXSPIN_ENABLE_X64=0, so jaxspin computes in float32; the accuracy "
            "stated in its documentation (1e-10 and similar) does not hold.",
            RuntimeWarning,
            stacklevel=3,
        )
    else:
        jax.config.update("jax_enable_x64", True)
    try:
        _cache.apply_environment()
    except ValueError as err:  # an import must not fail over a cache folder
        warnings.warn(
            f"jaxspin: compilation cache not enabled: {err}", RuntimeWarning, stacklevel=3
        )


def x64_enabled() -> bool:
    """Whether JAX (and so jaxspin) computes in float64/complex128 right now."""
    return bool(jax.config.read("jax_enable_x64"))
