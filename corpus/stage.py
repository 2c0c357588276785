"""The one shape every processing stage has.

A stage takes a columnar batch (``dict`` of equal-length lists) and returns it
with columns added. Stages never remove rows: a dropped document keeps its row
with ``drop_stage``/``drop_reason`` set, so that the ledger can say why it went.
Stages skip rows that an earlier stage already dropped.

The stage knows nothing about Ray; ``pipelines.ray_backend`` turns ``resources``
into Ray arguments and calls ``setup`` once per worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

Batch = dict[str, list[Any]]


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs. ``concurrency`` bounds the worker pool."""

    cpus: float = 1.0
    gpus: float = 0.0
    concurrency: int | None = None
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.cpus < 0 or self.gpus < 0:
            raise ValueError("cpus and gpus must be >= 0")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")


class Stage:
    """Base class: override ``process``; override ``setup`` to load models once per worker."""

    name: ClassVar[str] = "stage"
    resources: Resources = Resources()

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load heavy state (models). Called once per worker before ``process``."""

    def process(self, batch: Batch) -> Batch:
        raise NotImplementedError

    def __call__(self, batch: Batch) -> Batch:
        return self.process(batch)


def batch_len(batch: Batch) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def alive(batch: Batch) -> list[bool]:
    """Rows no earlier stage has dropped."""
    reasons = batch.get("drop_reason")
    if reasons is None:
        return [True] * batch_len(batch)
    return [r is None for r in reasons]


def ensure_drop_columns(batch: Batch) -> Batch:
    n = batch_len(batch)
    batch.setdefault("drop_stage", [None] * n)
    batch.setdefault("drop_reason", [None] * n)
    return batch


def mark_dropped(batch: Batch, rows: Sequence[int], stage: str, reasons: Sequence[str]) -> Batch:
    """Record that ``rows`` were dropped by ``stage`` for ``reasons`` (first drop wins)."""
    ensure_drop_columns(batch)
    for i, reason in zip(rows, reasons, strict=True):
        if batch["drop_reason"][i] is None:
            batch["drop_stage"][i] = stage
            batch["drop_reason"][i] = reason
    return batch
