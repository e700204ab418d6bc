"""A stall watchdog for long command-line work (``jaxspin figures``, ``jaxspin bench``).

Work reports that it is alive with :func:`heartbeat` (every :class:`jaxspin._progress.Progress`
update does, and the command line does between stages). If no heartbeat arrives for
``stall_s`` seconds, the watchdog writes what was running and for how long, dumps the Python
stack of every thread (:mod:`faulthandler`) and ends the process with exit status
:data:`EXIT_STALLED`, so a hang costs at most ``stall_s`` seconds instead of a user's
afternoon or a CI run.

Two layers, because a hang may hold the interpreter: a Python thread checks once a second
and writes the message; behind it, ``faulthandler.dump_traceback_later`` (a C thread that
needs no interpreter lock), re-armed at every heartbeat, dumps the stacks and exits 30 s
later if the Python thread cannot run.

Only an armed watchdog acts: library calls of :func:`heartbeat` outside the command line
cost one attribute check.
"""

import faulthandler
import os
import sys
import threading
import time
from typing import TextIO


EXIT_STALLED = 3
"""Exit status of a process the watchdog ended."""

_BACKSTOP_S = 30.0


class Watchdog:
    """Ends the process when no :meth:`beat` came for ``stall_s`` seconds (see module)."""

    def __init__(
        self,
        stall_s: float,
        *,
        stream: TextIO | None = None,
        poll_s: float = 1.0,
        hint: str = "--watchdog or JAXSPIN_WATCHDOG_S",
    ):
        if not stall_s > 0:
            raise ValueError(f"`stall_s` must be > 0 seconds; got {stall_s!r}.")
        self.stall_s = float(stall_s)
        self.stream = stream if stream is not None else sys.stderr
        self.poll_s = poll_s
        self.hint = hint
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._what = "start-up"
        self._stage = ""
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self, what: str | None = None) -> None:
        """Record progress (``what``: what is running now; ``None`` keeps the last one)."""
        with self._lock:
            self._last = time.monotonic()
            if what is not None:
                self._what = what
        self._arm_backstop()

    def stage(self, name: str) -> None:
        """Name the stage of the command (e.g. ``"figures deluca16"``); counts as a beat."""
        with self._lock:
            self._stage = name
        self.beat(name)

    def _arm_backstop(self) -> None:
        try:
            faulthandler.dump_traceback_later(
                self.stall_s + _BACKSTOP_S, repeat=False, file=self.stream, exit=True
            )
        except (ValueError, OSError, AttributeError):  # stream without a file descriptor
            pass

    def start(self) -> "Watchdog":
        self._arm_backstop()
        self._thread = threading.Thread(target=self._watch, name="jaxspin-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        faulthandler.cancel_dump_traceback_later()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "Watchdog":
        global _ACTIVE
        _ACTIVE = self
        return self.start()

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        self.stop()
        _ACTIVE = None

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            with self._lock:
                idle = time.monotonic() - self._last
                what, stage = self._what, self._stage
            if idle >= self.stall_s:
                self._fire(idle, what, stage)

    def _fire(self, idle: float, what: str, stage: str) -> None:
        total = time.monotonic() - self._started
        where = f" in {stage!r}" if stage and stage != what else ""
        self.stream.write(
            f"\njaxspin watchdog: no progress for {idle:.0f} s (limit {self.stall_s:g} s, "
            f"{self.hint}) while running {what!r}{where}, "
            f"{total:.0f} s into the command. The stacks of all threads follow; the process "
            f"ends with exit status {EXIT_STALLED}. Please report this with the output below.\n"
        )
        self.stream.flush()
        try:
            faulthandler.dump_traceback(file=self.stream, all_threads=True)
        except (ValueError, OSError):  # pragma: no cover - stream without a descriptor
            faulthandler.dump_traceback(all_threads=True)
        self.stream.flush()
        os._exit(EXIT_STALLED)


_ACTIVE: Watchdog | None = None


def heartbeat(what: str | None = None) -> None:
    """Tell the running watchdog (if any) that work is progressing."""
    dog = _ACTIVE
    if dog is not None:
        dog.beat(what)


def stage(name: str) -> None:
    """Name the command's current stage for the running watchdog (if any); a heartbeat."""
    dog = _ACTIVE
    if dog is not None:
        dog.stage(name)


def stall_seconds(cli_value: float | None) -> float | None:
    """The stall limit: the command-line value, else ``JAXSPIN_WATCHDOG_S``, else 900 s.
    ``0`` switches the watchdog off (returns ``None``)."""
    value = cli_value
    if value is None:
        env = os.environ.get("JAXSPIN_WATCHDOG_S", "")
        try:
            value = float(env) if env else DEFAULT_STALL_S
        except ValueError:
            raise ValueError(
                f"JAXSPIN_WATCHDOG_S must be a number of seconds; got {env!r}."
            ) from None
    if value < 0:
        raise ValueError(f"The watchdog limit must be >= 0 seconds; got {value!r}.")
    return None if value == 0 else float(value)


DEFAULT_STALL_S = 900.0
"""Default stall limit [s]: far above the longest quiet stretch of a default figure or
benchmark run on 2 CPU cores (a compilation, a NumPy baseline row), far below an afternoon."""
