"""Hang guard for the test run: no test can hang the run (imported by ``conftest.py``).

Two layers on top of the per-test limit ``timeout`` (``pyproject.toml``, pytest-timeout):

1. **Soft** (pytest-timeout, ``timeout_method = "signal"``): at the limit, SIGALRM dumps every
   thread's stack and fails the test; the run goes on with the next test.
2. **Hard** (this module): a hang inside native code (a deadlocked XLA thread pool, the
   failure this guard was written for) never returns to the interpreter, so the signal
   handler cannot run. A :class:`jaxspin._watchdog.Watchdog`, re-armed at the start of every
   test with ``limit + grace`` seconds (``grace``: ``JAXSPIN_TEST_HANG_GRACE_S``, default
   60), then writes the test's node id, dumps every thread's stack (faulthandler) to the
   real stderr and ends the process with exit status 3 (under pytest-xdist: that worker;
   xdist fails the test as "worker crashed" and goes on). A hung test costs at most its limit
   plus the grace, never the CI run's 90 minutes.
"""

import os

import pytest

from jaxspin._watchdog import Watchdog


_DOG = pytest.StashKey[Watchdog]()


def _limit(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    value = item.config.getoption("timeout", None) or item.config.getini("timeout") or 0
    return float(value)


def pytest_configure(config: pytest.Config) -> None:
    if not (config.getoption("timeout", None) or config.getini("timeout")):
        return
    # pytest captures fd 2 into a temporary file during tests (lost if the process ends from
    # a thread); at configure time capture is suspended, so fd 2 is the real stderr.
    stream = os.fdopen(os.dup(2), "w", buffering=1)
    config.stash[_DOG] = Watchdog(
        3600.0, stream=stream, hint="pytest timeout + JAXSPIN_TEST_HANG_GRACE_S"
    ).start()


def pytest_unconfigure(config: pytest.Config) -> None:
    dog = config.stash.get(_DOG, None)
    if dog is not None:
        dog.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    dog = item.config.stash.get(_DOG, None)
    if dog is not None:
        limit = _limit(item)
        grace = float(os.environ.get("JAXSPIN_TEST_HANG_GRACE_S", "60"))
        # Between tests (collection, reporting) the previous limit keeps ticking.
        dog.stall_s = limit + grace if limit > 0 else 24 * 3600.0
        dog.stage(f"test {item.nodeid} (limit {limit:g} s + {grace:g} s grace)")
    yield
    if dog is not None:
        dog.beat("between tests")
