r"""A progress bar with rate and ETA for long commands, drawn only on a terminal.

When the output is piped or redirected (a log, CI, ``| tee``) nothing is drawn, so the
captured output holds only the command's result lines.

Examples
--------
>>> import io
>>> bar = ProgressBar(100, "sent", stream=io.StringIO())  # not a terminal: silent
>>> bar.enabled
False
>>> out = io.StringIO()
>>> t = iter([0.0, 2.0, 2.0])
>>> bar = ProgressBar(100, "sent", stream=out, enabled=True, clock=lambda: next(t))
>>> bar.update(50)
>>> print(bar.line(50, 2.0))
sent [##########..........] 50/100  50%  25.0/s  ETA 0:00:02
>>> out.getvalue() == "\r" + bar.line(50, 2.0) + "\x1b[K"  # redrawn in place
True
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 20


class ProgressBar:
    """Progress of ``total`` units of work, redrawn in place on one terminal line."""

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None,
                 enabled: bool | None = None, unit: str = "",
                 clock: Callable[[], float] = time.monotonic, min_interval_s: float = 0.1
                 ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.unit = unit
        self.clock = clock
        self.min_interval_s = min_interval_s
        self.started = clock() if self.enabled else 0.0
        self._drawn = float("-inf")
        self.done = 0

    def update(self, done: int) -> None:
        """Say that ``done`` units of ``total`` are finished."""
        self.done = done
        if not self.enabled:
            return
        now = self.clock()
        if done < self.total and now - self._drawn < self.min_interval_s:
            return
        self._drawn = now
        self.stream.write("\r" + self.line(done, now - self.started) + "\x1b[K")
        self.stream.flush()

    def line(self, done: int, elapsed_s: float) -> str:
        """The bar's text after ``elapsed_s`` seconds."""
        share = done / self.total if self.total > 0 else 1.0
        filled = round(share * _WIDTH)
        rate = done / elapsed_s if elapsed_s > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        eta_text = str(dt.timedelta(seconds=round(eta))) if eta == eta else "?"
        return (f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{self.total}"
                f" {share:4.0%}  {rate:.1f}{self.unit}/s  ETA {eta_text}")

    def close(self) -> None:
        """End the bar's line (on a terminal); later output starts on a fresh line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
