"""The shape every heuristic rule shares: a measured value, a threshold, a verdict.

Rule families measure values (pure functions over a ``TextView``) and list their
``Check``s; ``evaluate`` turns values into verdicts. Keeping measurement apart from
thresholds is what lets the ledger store the values and SQL re-threshold them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

Op = Literal["<", "<=", ">", ">="]
# A check FAILS when ``value OP threshold`` holds (datatrove's comparisons).
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class TextView:
    """Splits of one text computed once and shared by every rule (the hot loop's budget)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()
        self.words = text.split()  # whitespace words, as in the Gopher paper

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    @cached_property
    def nonblank_lines(self) -> list[str]:
        return [line for line in self.lines if line and not line.isspace()]


@dataclass(frozen=True)
class Check:
    """Drop with ``reason`` when ``values[key] OP threshold``; ``threshold=None`` is off.
    A value equal to ``exempt`` never fails (FineWeb's ``line_punct_exclude_zero``)."""

    reason: str
    key: str
    op: Op
    threshold: float | None
    exempt: float | None = None

    def fails(self, value: float) -> bool:
        if self.threshold is None or (self.exempt is not None and value == self.exempt):
            return False
        return _OPS[self.op](value, self.threshold)


@dataclass(frozen=True)
class CheckResult:
    check: Check
    value: float
    failed: bool


def evaluate(checks: Iterable[Check], values: Mapping[str, float]) -> list[CheckResult]:
    return [CheckResult(c, values[c.key], c.fails(values[c.key])) for c in checks]


def first_failure(checks: Iterable[Check], values: Mapping[str, float]) -> str | None:
    """Reason of the first failing check, in the family's order; None if all pass."""
    for c in checks:
        if c.fails(values[c.key]):
            return c.reason
    return None


def find_duplicates(items: Iterable[str]) -> tuple[int, int]:
    """(number of items seen before, characters in them): Gopher's duplicate measure."""
    seen: set[str] = set()
    n_dup = n_chars = 0
    for item in items:
        if item in seen:
            n_dup += 1
            n_chars += len(item)
        else:
            seen.add(item)
    return n_dup, n_chars
