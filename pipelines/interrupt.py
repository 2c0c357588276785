"""A run's end when it is stopped: SIGTERM as Ctrl-C, and the next run's cleanup of
what a killed one left (temp files, a half-done corpus swap)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading

from pipelines.layout import Layout


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt like Ctrl-C, so the run's ``finally`` shuts Ray's
    workers down and marks the run ``interrupted`` instead of the process just vanishing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cleanup_interrupted(layout: Layout) -> int:
    """Leftovers of a killed run: temp files and dirs, near dedup's scratch, a half-done corpus swap.

    Every write in a run goes to ``*.tmp`` and is renamed when complete, so any ``*.tmp``
    left under ``work/`` belongs to a run that died (one run per output at a time).
    """
    old, new = layout.out / "corpus.old", layout.out / "corpus.new"
    if old.exists() and not layout.corpus.exists():
        old.rename(layout.corpus)
    leftovers = [p for p in (old, new) if p.exists()]
    if layout.work.is_dir():
        leftovers += sorted(layout.work.rglob("*.tmp"))
        leftovers += [p for p in (layout.work / "near" / "_near_dedup_scratch",) if p.exists()]
    for p in leftovers:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return len(leftovers)
