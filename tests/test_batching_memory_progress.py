import io

import jax.numpy as jnp
import numpy as np
import pytest

import jaxspin
from jaxspin._batching import map_batched
from jaxspin._memory import check_fits, format_bytes, parse_bytes
from jaxspin._progress import Progress


def test_map_batched_broadcasts_and_blocks():
    a = jnp.arange(6.0).reshape(3, 2, 1)  # batch (3, 2), core ()... use core 1
    b = jnp.ones((2, 1))  # batch (2,)
    out = map_batched(lambda x, y: x * 2 + y, [a, b], [1, 1], ["a", "b"], block_size=4)
    np.testing.assert_allclose(out, a * 2 + b)
    out2 = map_batched(lambda x, y: x * 2 + y, [a, b], [1, 1], ["a", "b"], block_size=None)
    np.testing.assert_array_equal(out, out2)
    with pytest.raises(ValueError, match="broadcast"):
        map_batched(lambda x, y: x, [jnp.ones((3, 1)), jnp.ones((4, 1))], [1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="at least"):
        map_batched(lambda x: x, [jnp.ones(3)], [2], ["a"])


def test_blocks_with_a_remainder():
    """7 points in blocks of 3: two full blocks and a remainder of one, all computed."""
    x = jnp.arange(7.0)[:, None]
    out = map_batched(lambda v: jnp.sum(v) ** 2, [x], [1], ["x"], block_size=3)
    np.testing.assert_array_equal(out, jnp.arange(7.0) ** 2)


def test_memory_helpers(monkeypatch):
    assert parse_bytes("2G") == 2 * 1024**3
    assert parse_bytes("512M") == 512 * 1024**2
    assert format_bytes(1536) == "1.5 KiB"
    monkeypatch.setenv("JAXSPIN_MEMORY_LIMIT", "1M")
    assert jaxspin.available_memory_bytes() <= 1024**2
    check_fits(1000, "small thing")
    with pytest.raises(jaxspin.MemoryBudgetError, match=r"big thing needs about 9\.54 MiB"):
        check_fits(10_000_000, "big thing")


def test_progress_writes_lines(monkeypatch):
    monkeypatch.delenv("JAXSPIN_PROGRESS", raising=False)
    buf = io.StringIO()
    with Progress(total=10, desc="work", unit="chunks", stream=buf) as bar:
        for _ in range(10):
            bar.update(1)
    text = buf.getvalue()
    assert "work" in text and "10/10 chunks" in text
    monkeypatch.setenv("JAXSPIN_PROGRESS", "0")
    buf = io.StringIO()
    with Progress(total=3, stream=buf) as bar:
        bar.update(3)
    assert buf.getvalue() == ""
