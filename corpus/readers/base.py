"""What every reader yields, and how inputs are found.

A reader is a generator ``read(path) -> Iterator[Record | Reject]``: one
``Record`` per document it could parse and one ``Reject`` per piece of input it
could not (corrupt compression, truncated record, a JSON line that is not an
object...). Readers never raise on bad content after the file opened; they
yield a ``Reject`` and go on, so no good document in the same file is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Record:
    id: str
    text: str
    position: int  # record index within its file, stable across runs
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Reject:
    position: int
    error: str  # short reason, e.g. "invalid-json: Expecting value (line 1)"
