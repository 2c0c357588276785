"""Peak RSS of a whole process tree, sampled: shared by the benchmarks that run commands.

A run's memory is the driver plus every descendant (local Ray's GCS, raylet and
workers; datatrove's worker processes), so one process's ``maxrss`` would miss most of it.
Sampling every 0.2 s misses spikes shorter than that; good enough for 10+ s runs.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time

import psutil


def tree_rss(proc: psutil.Process) -> int:
    """RSS in bytes of ``proc`` and all its descendants (0 once it is gone)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


class TreePeak:
    """Samples ``tree_rss(pid)`` in a thread until stopped; ``peak`` holds the maximum,
    ``driver`` the maximum of ``pid`` alone, ``before`` its RSS when sampling began."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = self.driver = 0
        self.before = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.proc))
            with contextlib.suppress(psutil.Error):
                self.driver = max(self.driver, self.proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(cmd: list[str], **popen_kw) -> tuple[int, float, int]:
    """Run ``cmd`` to its end: (exit code, wall seconds, peak tree RSS in bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, **popen_kw)
    with TreePeak(proc.pid) as mem:
        rc = proc.wait()
    return rc, time.perf_counter() - start, mem.peak
