"""What the pipeline tells its user: one status line per step, one progress line per stage.

Three levels: ``quiet`` (errors only, which go to stderr as exceptions anyway),
``normal`` (our lines; Ray's own logs and bars hidden) and ``verbose`` (Ray's too).
On a terminal a stage's progress line is redrawn in place (documents, docs/s, ETA);
in a log file it is written every ``LOG_EVERY_S`` seconds, so a long classify step
leaves a trace without flooding the log.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

QUIET, NORMAL, VERBOSE = 0, 1, 2
_level = NORMAL
LOG_EVERY_S = 30.0  # non-terminal output: one progress line per this many seconds
DRAW_EVERY_S = 0.2  # terminal: redraw at most this often


def set_level(level: int) -> None:
    global _level
    _level = level


def level() -> int:
    return _level


def say(msg: str) -> None:
    """A status line (suppressed by ``--quiet``)."""
    if _level >= NORMAL:
        print(f"[primer] {msg}", flush=True)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Progress of one stage over ``total`` documents (None: unknown).

    ``fraction`` (0-1), when given to ``update``, drives the ETA instead of
    documents/total (ingest knows input bytes done, not documents to come).
    """

    def __init__(self, stage: str, total: int | None = None, stream: TextIO | None = None):
        self.stage, self.total = stage, total
        self.stream = stream or sys.stdout
        self.done = 0
        self.fraction: float | None = None
        self.start = time.perf_counter()
        self._drawn = 0.0
        self._logged = self.start
        self._tty = self.stream.isatty()
        self._open_line = False

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        frac = self.fraction
        if frac is None and self.total:
            frac = self.done / self.total
        parts = [f"[primer] {self.stage}: {count} docs"]
        if frac is not None:
            parts[0] += f" ({frac:.0%})"
        parts.append(f"{self.rate():.1f} docs/s")
        if frac is not None and 0 < frac < 1 and elapsed > 1:
            parts.append(f"ETA {_duration(elapsed * (1 - frac) / frac)}")
        else:
            parts.append(f"{_duration(elapsed)} elapsed")
        return "  ".join(parts)

    def update(self, n: int = 0, fraction: float | None = None, force: bool = False) -> None:
        self.done += n
        if fraction is not None:
            self.fraction = fraction
        if _level < NORMAL:
            return
        now = time.perf_counter()
        if self._tty:
            if force or now - self._drawn >= DRAW_EVERY_S:
                self.stream.write("\r\x1b[K" + self.line())
                self.stream.flush()
                self._drawn, self._open_line = now, True
        elif force or now - self._logged >= LOG_EVERY_S:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._logged = now

    def close(self, summary: str = "") -> None:
        """End the line: documents, time, rate, and ``summary`` (e.g. what was dropped)."""
        if _level < NORMAL:
            return
        elapsed = time.perf_counter() - self.start
        text = (
            f"[primer] {self.stage}: {self.done:,} docs in {_duration(elapsed)} "
            f"({self.rate():.1f} docs/s)" + (f", {summary}" if summary else "")
        )
        prefix = "\r\x1b[K" if self._tty and self._open_line else ""
        self.stream.write(prefix + text + "\n")
        self.stream.flush()
        self._open_line = False
