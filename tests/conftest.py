"""Test configuration: float64 and strict dtype promotion for every test.

``import jaxspin`` turns on x64 (see jaxspin/_config.py); strict promotion makes any
implicit float32/float64 or int/float mixing inside jaxspin an error, so dtypes stay
stable. A test that changes JAX config must restore it (use the ``jax_config`` fixture).
Every test runs under a time limit (``timeout`` in ``pyproject.toml``) with a hard
backstop for hangs in native code (``tests/hangguard.py``).
"""

import os


# Subprocesses started by tests (``python -m jaxspin ...``) must not fill the user's
# compilation cache; tests/test_cache.py switches it on in folders of its own.
os.environ.setdefault("JAXSPIN_COMPILATION_CACHE", "0")

import jax  # noqa: E402
import pytest  # noqa: E402

import jaxspin  # noqa: F401, E402  (applies jaxspin's process settings before any JAX work)
from tests.hangguard import (  # noqa: F401, E402  (pytest hooks: the hang guard)
    pytest_configure as pytest_configure,
    pytest_runtest_protocol as pytest_runtest_protocol,
    pytest_unconfigure as pytest_unconfigure,
)


jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def jax_config():
    """Snapshot JAX config values a test may change, restore them afterwards."""
    names = ["jax_enable_x64", "jax_numpy_dtype_promotion", "jax_debug_nans"]
    saved = {name: jax.config.read(name) for name in names}
    yield jax.config
    for name, value in saved.items():
        jax.config.update(name, value)


@pytest.fixture
def key():
    return jax.random.PRNGKey(20261121)
