"""A dependency-free progress bar for long jaxspin work (sweeps, figures, benchmarks).

Writes to stderr: a single updating line on a terminal, occasional plain lines otherwise
(log files, CI). ``JAXSPIN_PROGRESS=0`` silences every bar. Every update, shown or not, is
a heartbeat for the command line's stall watchdog (:mod:`jaxspin._watchdog`).
"""

import os
import sys
import time
from typing import TextIO

from ._watchdog import heartbeat


def _fmt_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Progress over ``total`` units of work (``unit`` names them; rates are shown per
    second of wall time, remaining time in seconds or ``h:mm:ss``), written to ``stream``
    (stderr); ``JAXSPIN_PROGRESS=0`` or ``enabled=False`` silences it.

    Use as a context manager::

        with Progress(total=100, desc="sweep", unit="chunks") as bar:
            for _ in range(100):
                ...
                bar.update(1)
    """

    def __init__(
        self,
        total: int,
        desc: str = "",
        unit: str = "it",
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        initial: int = 0,
    ):
        self.total = max(int(total), 0)
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and os.environ.get("JAXSPIN_PROGRESS", "1") != "0"
        self.count = int(initial)
        self._initial = int(initial)
        self._start = time.perf_counter()
        self._last_print = 0.0
        self._last_fraction_logged = -1.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __enter__(self) -> "Progress":
        self._start = time.perf_counter()
        heartbeat(self._what())
        self._render(force=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1, postfix: str = "") -> None:
        self.count += n
        heartbeat(self._what())
        self._render(postfix=postfix)

    def _what(self) -> str:
        return f"{self.desc or 'work'} ({self.count}/{self.total} {self.unit})"

    def _line(self, postfix: str = "") -> str:
        elapsed = time.perf_counter() - self._start
        done = self.count - self._initial
        frac = self.count / self.total if self.total else 1.0
        width = 24
        filled = int(round(width * min(frac, 1.0)))
        bar = "#" * filled + "." * (width - filled)
        rate = done / elapsed if elapsed > 0 and done > 0 else 0.0
        remaining = (self.total - self.count) / rate if rate > 0 else float("nan")
        eta = _fmt_time(remaining) if rate > 0 else "?"
        text = (
            f"{self.desc} [{bar}] {self.count}/{self.total} {self.unit} "
            f"{_fmt_time(elapsed)} elapsed, ETA {eta}"
        )
        return f"{text} {postfix}".rstrip()

    def _render(self, force: bool = False, postfix: str = "") -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        frac = self.count / self.total if self.total else 1.0
        if self._tty:
            if force or now - self._last_print > 0.1 or self.count >= self.total:
                self.stream.write("\r" + self._line(postfix))
                self.stream.flush()
                self._last_print = now
        elif force or frac - self._last_fraction_logged >= 0.1 or self.count >= self.total:
            self.stream.write(self._line(postfix) + "\n")
            self.stream.flush()
            self._last_fraction_logged = frac

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
