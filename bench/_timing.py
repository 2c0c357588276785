"""CPU time of a benchmarked call: the best of a few rounds (least disturbed by load)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_cpu(fn: Callable[[], object], rounds: int) -> float:
    """Smallest ``process_time`` of ``rounds`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best
