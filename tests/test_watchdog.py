"""The stall watchdog of the command line and the test run's hang guard.

Each guard is made to fire on a real stall in a fresh process: a Python-level stall, and a
stall the per-test SIGALRM cannot interrupt (the signal blocked, as in a native deadlock).
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jaxspin import _watchdog
from jaxspin._progress import Progress


ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
    )


def test_watchdog_ends_a_stalled_process_with_stacks():
    out = _python(
        """
        import threading, time
        from jaxspin._watchdog import Watchdog
        with Watchdog(1.0, poll_s=0.1) as dog:
            dog.stage("figures demo")
            dog.beat("step 3 of 6")
            threading.Event().wait(60)  # stalls
        print("not reached")
        """
    )
    assert out.returncode == _watchdog.EXIT_STALLED, out
    assert "no progress for 1 s" in out.stderr
    assert "'step 3 of 6'" in out.stderr and "'figures demo'" in out.stderr
    assert "Current thread" in out.stderr or "Thread 0x" in out.stderr  # faulthandler dump
    assert "not reached" not in out.stdout


def test_heartbeats_from_progress_keep_it_alive():
    out = _python(
        """
        import time
        from jaxspin._watchdog import Watchdog
        from jaxspin._progress import Progress
        with Watchdog(1.0, poll_s=0.05):
            with Progress(8, "work", enabled=False) as bar:
                for _ in range(8):
                    time.sleep(0.5)
                    bar.update(1)
        print("done")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"


def test_c_backstop_fires_when_python_cannot():
    """The faulthandler timer behind the Python thread dumps and exits on its own."""
    out = _python(
        """
        import faulthandler, sys, threading, time
        from jaxspin import _watchdog
        _watchdog._BACKSTOP_S = 0.5
        dog = _watchdog.Watchdog(0.5, poll_s=3600)  # the Python thread never looks
        dog.start()
        threading.Event().wait(60)
        """
    )
    assert out.returncode != 0 and "Timeout" in out.stderr, out


def test_heartbeat_without_watchdog_is_a_no_op():
    _watchdog.heartbeat("nothing listens")
    with Progress(2, "x", enabled=False) as bar:
        bar.update(2)


@pytest.mark.parametrize(
    "cli, env, expected",
    [
        (None, "", 900.0),
        (None, "12.5", 12.5),
        (5.0, "12.5", 5.0),
        (0.0, "", None),
        (None, "0", None),
    ],
)
def test_stall_seconds(monkeypatch, cli, env, expected):
    monkeypatch.setenv("JAXSPIN_WATCHDOG_S", env)
    assert _watchdog.stall_seconds(cli) == expected


def test_stall_seconds_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("JAXSPIN_WATCHDOG_S", "soon")
    with pytest.raises(ValueError, match="JAXSPIN_WATCHDOG_S"):
        _watchdog.stall_seconds(None)
    with pytest.raises(ValueError, match=">= 0"):
        _watchdog.stall_seconds(-1.0)
    with pytest.raises(ValueError, match="stall_s"):
        _watchdog.Watchdog(0.0)


def test_cli_watchdog_says_what_was_running(tmp_path):
    """`jaxspin figures` with a figure module that stalls: exit 3, the stage named."""
    pkg = tmp_path / "fake"
    out = _python(
        f"""
        import sys, threading, types
        from jaxspin import _cli
        mod = types.ModuleType("jaxspin.examples.gong11")
        def make_figures(out, size, progress):
            threading.Event().wait(60)
        mod.make_figures = make_figures
        sys.modules["jaxspin.examples.gong11"] = mod
        sys.exit(_cli.main(["figures", "--only", "gong11", "--out", {str(pkg)!r},
                            "--watchdog", "1"]))
        """
    )
    assert out.returncode == _watchdog.EXIT_STALLED, out
    assert "jaxspin figures --only gong11" in out.stderr
    assert "make_figures" in out.stderr  # the stack shows where it stalled


# --- the test run's own guard (tests/hangguard.py) ---------------------------------------
PYTHON_HANG = """
import time

def test_python_level_hang():
    time.sleep(60)

def test_after_it():
    assert True
"""

NATIVE_HANG = """
import signal, threading

def test_native_level_hang():
    # A deadlock in native code never returns to the interpreter, so SIGALRM's handler never
    # runs; blocking the signal reproduces exactly that.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    threading.Event().wait(60)

def test_never_reached():
    assert True
"""


def _pytest_on(tmp_path: Path, tests: str) -> tuple[int, str]:
    (tmp_path / "conftest.py").write_text(
        "from tests.hangguard import pytest_configure, pytest_runtest_protocol, "
        "pytest_unconfigure  # noqa: F401\n"
    )
    (tmp_path / "test_hung.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout = 2\ntimeout_method = signal\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAXSPIN_TEST_HANG_GRACE_S": "2"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    return out.returncode, out.stdout + out.stderr


def test_hang_guard_fails_a_hung_test_and_goes_on(tmp_path):
    code, text = _pytest_on(tmp_path, PYTHON_HANG)
    assert code == 1, text
    assert "Failed: Timeout" in text and "1 failed, 1 passed" in text
    assert "Stack of" in text  # pytest-timeout dumps every thread


def test_hang_guard_ends_a_native_hang_with_stacks(tmp_path):
    code, text = _pytest_on(tmp_path, NATIVE_HANG)
    assert code == _watchdog.EXIT_STALLED, text
    assert "no progress for" in text and "test_hung.py::test_native_level_hang" in text
    assert "Thread 0x" in text  # faulthandler: every thread's stack
    assert "test_never_reached PASSED" not in text
