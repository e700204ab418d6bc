"""Choices jaxspin makes from the device it runs on, tested with fake device descriptions.

No GPU is needed: a :class:`FakeDevice` has the attributes jaxspin reads (``platform``,
``memory_stats()``, ...). The choices:

- free memory (``jaxspin._memory.available_memory_bytes``): ``bytes_limit -
  bytes_in_use`` from ``memory_stats()`` on an accelerator, the host's RAM on the CPU (or
  when an accelerator reports nothing), capped by ``JAXSPIN_MEMORY_LIMIT``;
- the sweep (``jaxspin._sweep``): default cache block (256 points on the CPU, one ``vmap``
  over each device's share on a GPU), default chunk size (1/16 of a device's free memory,
  host RAM shared by CPU devices), chunks in flight (1 on the CPU, 2 on a GPU) and the
  refusal of a chunk that does not fit;
- [Gong11] ``diffusion_map``'s default block (4096 points on the CPU, 131072 elsewhere).
"""

import jax
import numpy as np
import pytest

import jaxspin
import jaxspin._sweep as _sweep
from jaxspin._memory import MemoryBudgetError, available_memory_bytes, check_fits
from jaxspin.gong11 import _couplings


MiB = 1024**2


class FakeDevice:
    """What jaxspin reads of a ``jax.Device``. An accelerator reports ``memory_stats()``;
    a CPU device raises if asked (jaxspin must use the host's RAM for it)."""

    def __init__(self, platform, bytes_limit=None, bytes_in_use=0, id=0, stats=True):
        self.platform, self.id, self.process_index = platform, id, 0
        self.device_kind = {"cpu": "cpu", "gpu": "NVIDIA H200"}.get(platform, platform)
        stats = {"bytes_limit": bytes_limit, "bytes_in_use": bytes_in_use}
        self._stats = None if bytes_limit is None else stats
        self._has_stats = stats

    def memory_stats(self):
        if self.platform == "cpu":
            raise AssertionError("the memory of a CPU device is the host's RAM")
        if not self._has_stats:
            raise RuntimeError("memory_stats not supported")
        return self._stats

    def __repr__(self):
        return f"FakeDevice({self.platform}:{self.id})"


def gpu(free_mib, n=1, in_use_mib=0):
    limit = (free_mib + in_use_mib) * MiB
    return [FakeDevice("gpu", limit, in_use_mib * MiB, id=i) for i in range(n)]


def cpus(n):
    return [FakeDevice("cpu", id=i) for i in range(n)]


# ------------------------------------------------------------------------------ memory
def test_free_memory_of_an_accelerator_is_limit_minus_in_use(monkeypatch):
    monkeypatch.delenv("JAXSPIN_MEMORY_LIMIT", raising=False)
    (dev,) = gpu(free_mib=3000, in_use_mib=1000)
    assert available_memory_bytes(dev) == 3000 * MiB
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "512M")
    assert available_memory_bytes(dev) == 512 * MiB


def test_free_memory_falls_back_to_host_ram(monkeypatch):
    """CPU devices (never asked for memory_stats) and accelerators that report nothing or
    fail to report use the host's MemAvailable."""
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "64M")  # below any real host's free RAM
    for dev in (
        FakeDevice("cpu"),
        FakeDevice("gpu"),  # memory_stats() -> None
        FakeDevice("gpu", 1 << 40, stats=False),  # memory_stats() raises
        FakeDevice("tpu", bytes_limit=None),
    ):
        assert available_memory_bytes(dev) == 64 * MiB, dev


def test_refusal_names_the_device(monkeypatch):
    monkeypatch.delenv("JAXSPIN_MEMORY_LIMIT", raising=False)
    (dev,) = gpu(free_mib=100)
    check_fits(79 * MiB, "fits", device=dev)  # 80 % of the free memory may be used
    with pytest.raises(MemoryBudgetError, match=r"needs about 81 MiB.*FakeDevice\(gpu:0\)"):
        check_fits(81 * MiB, "too big", device=dev)


# ------------------------------------------------------------------------------- sweep
def test_chunks_in_flight():
    assert _sweep._chunks_in_flight("cpu") == 1
    assert _sweep._chunks_in_flight("gpu") == 2
    assert _sweep._chunks_in_flight("tpu") == 2


def test_default_chunk_from_device_memory(monkeypatch):
    """Inputs and outputs of a chunk within 1/16 of a device's free memory, at most 2**16
    points, whole blocks per device; a GPU's free memory is its own, CPU devices share the
    host's RAM."""
    monkeypatch.delenv("JAXSPIN_MEMORY_LIMIT", raising=False)
    bpp = 4096  # bytes per point (inputs + outputs)
    # 1 GPU with 160 MiB free: 160 MiB / 16 / 4 KiB = 2560 points (block None: no rounding).
    assert _sweep._default_chunk(10**8, bpp, gpu(160), None) == 2560
    # 4 such GPUs: each holds its own share.
    assert _sweep._default_chunk(10**8, bpp, gpu(160, n=4), None) == 4 * 2560
    # Plenty of memory: the 2**16 cap; a small grid is one chunk.
    assert _sweep._default_chunk(10**8, bpp, gpu(140_000), None) == 2**16
    assert _sweep._default_chunk(1000, bpp, gpu(140_000), None) == 1000
    # Memory already in use counts against the chunk.
    assert _sweep._default_chunk(10**8, bpp, gpu(160, in_use_mib=10_000), None) == 2560
    # 2 CPU devices share 160 MiB of host RAM: 1280 points each, rounded down to whole
    # blocks of 256 on both: 2 * 1280 = 2560 = 5 * 512.
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "160M")
    assert _sweep._default_chunk(10**8, bpp, cpus(2), 256) == 2560
    # 3 devices: 853 points each (2559), rounded down to whole blocks: 2304 = 3 * 768.
    assert _sweep._default_chunk(10**8, bpp, cpus(3), 256) == 2304


def test_block_layout():
    """One vmap over each device's share when block is None (the GPU default)."""
    assert _sweep._layout(1000, 1, None) == (1000, 1000)
    assert _sweep._layout(1000, 4, None) == (250, 1000)
    assert _sweep._layout(1000, 4, 256) == (250, 1000)  # block capped by the share
    assert _sweep._layout(1000, 2, 256) == (256, 1024)  # padded to whole blocks


@pytest.mark.parametrize(
    "devices, block",
    [(cpus(1), 256), (cpus(4), 256), (gpu(1000), None), (gpu(1000, n=2), None)],
    ids=["1 cpu", "4 cpu", "1 gpu", "2 gpu"],
)
def test_sweep_defaults_per_platform(monkeypatch, devices, block):
    """What sweep hands to its chunk runner: every device it was given (no cap on CPU
    devices), block 256 on the CPU and one vmap per device share on a GPU, the default
    chunk of :func:`_default_chunk`."""
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1G")
    monkeypatch.setattr(_sweep, "_check_devices", lambda d: list(d))
    seen = {}

    def run_chunks(point, g, todo, bounds, out, ckpt, devices, block_size, *, chunk, **kw):
        seen.update(devices=devices, block=block_size, chunk=chunk, todo=todo)

    monkeypatch.setattr(_sweep, "_run_chunks", run_chunks)
    grid = {"a": np.linspace(0.0, 1.0, 300), "b": np.linspace(0.0, 1.0, 300)}
    jaxspin.sweep(lambda a, b: a * b, grid, devices=devices, progress=False)
    assert seen["devices"] == devices and seen["block"] == block
    expected = _sweep._default_chunk(300 * 300, 3 * 8, devices, block)
    assert seen["chunk"] == expected and seen["todo"] == list(range(-(-90_000 // expected)))


class _Analysis:
    def __init__(self, io_mib, temp_mib):
        self.argument_size_in_bytes = io_mib * MiB // 2
        self.output_size_in_bytes = io_mib * MiB - self.argument_size_in_bytes
        self.temp_size_in_bytes = temp_mib * MiB


class _Compiled:
    def __init__(self, io_mib, temp_mib):
        self.stats = _Analysis(io_mib, temp_mib)

    def memory_analysis(self):
        return self.stats


def test_chunk_refusal_counts_chunks_in_flight_and_shared_ram(monkeypatch):
    """A chunk with 40 MiB of inputs and outputs and 5 MiB of temporaries, against 80 % of
    100 MiB: fits with one chunk in flight (45 MiB), not with two (85 MiB, the GPU
    schedule), and not on 2 CPU devices sharing the host's 100 MiB (2 x 45 MiB)."""
    monkeypatch.delenv("JAXSPIN_MEMORY_LIMIT", raising=False)
    compiled = _Compiled(io_mib=40, temp_mib=5)
    _sweep._check_chunk_fits(compiled, gpu(100), 1, "chunk")
    with pytest.raises(MemoryBudgetError, match=r"chunk needs about 85 MiB"):
        _sweep._check_chunk_fits(compiled, gpu(100), 2, "chunk")
    _sweep._check_chunk_fits(compiled, gpu(100, n=2), 1, "chunk")  # each GPU its own
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "100M")
    _sweep._check_chunk_fits(compiled, cpus(1), 1, "chunk")
    with pytest.raises(MemoryBudgetError, match=r"chunk needs about 90 MiB"):
        _sweep._check_chunk_fits(compiled, cpus(2), 1, "chunk")


# ------------------------------------------------------------------------------- gong11
@pytest.mark.parametrize("backend, block", [("cpu", 4096), ("gpu", 1 << 17), ("tpu", 1 << 17)])
def test_gong11_default_block(monkeypatch, backend, block):
    monkeypatch.setattr(jax, "default_backend", lambda: backend)
    assert _couplings._default_block() == block
