"""Splitting one large input file into parts that several ingest tasks share (pure).

A file over ``reader.split_bytes`` becomes ``ceil(size / split_bytes)`` parts, each its
own task, work files and marker, so a 2 GB shard is shared by several workers and a killed
run redoes only its unfinished parts. Which records a part owns:

    part i of n owns the records at positions p with (p // block) % n == i

(blocks of ``reader.split_block`` consecutive records, dealt round-robin). Every part
reads the whole stream and parses, extracts and filters only its own records.

Why record blocks and not byte ranges: a document's uid is ``<file key>/<position>`` with
``position`` its record index in the file (``corpus.readers.base.Record``), and the corpus
of a split run must equal the unsplit one, so a part must know the index of its first
record. gzip/zstd and WARC.gz streams cannot seek anyway; for plain JSONL a byte-range part
would have to count every newline before its start, i.e. read the prefix too. Skipping a
record that another part owns costs a ``readline`` (JSONL) or a header parse (WARC), not a
JSON parse or an HTML extraction, and decompressing is far cheaper than the filters
(~1-3 ms a document), so one scheme fits every format. Round-robin blocks need no record
count up front (unknown until the stream is read) and balance the parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.layout import shard_key


@dataclass(frozen=True)
class Part:
    """Part ``index`` of ``count`` of one input file (``count == 1``: the whole file)."""

    path: Path
    index: int = 0
    count: int = 1
    block: int = 1000

    @property
    def key(self) -> str:
        """Name of the part's work files and marker; an unsplit file keeps its shard key."""
        key = shard_key(self.path)
        return key if self.count == 1 else f"{key}.part{self.index:03d}of{self.count:03d}"

    def owns(self, position: int) -> bool:
        return self.count == 1 or (position // self.block) % self.count == self.index

    def marker_fields(self) -> dict[str, Any]:
        """What a part's marker records of the plan (nothing for an unsplit file)."""
        if self.count == 1:
            return {}
        return {"part": self.index, "parts": self.count, "block": self.block}

    def item(self) -> dict[str, Any]:
        """The part as a task item (plain values, picklable, a Ray Data row)."""
        return {
            "path": str(self.path),
            "part": self.index,
            "parts": self.count,
            "block": self.block,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Part:
        return cls(Path(item["path"]), item["part"], item["parts"], item["block"])


def n_parts(size: int, split_bytes: int) -> int:
    """How many parts a file of ``size`` bytes becomes (1 up to ``split_bytes``)."""
    return max(1, math.ceil(size / split_bytes))


def plan(
    path: Path, size: int, split_bytes: int, block: int, splittable: bool = True
) -> list[Part]:
    """The parts of one input file; ``splittable=False`` (one document per file, e.g. a source
    file of the code profile) keeps it whole."""
    count = n_parts(size, split_bytes) if splittable else 1
    return [Part(path, i, count, block) for i in range(count)]


def part_keys_of(key: str, names: list[str]) -> list[str]:
    """Among work-file ``names`` (keys), those of the file with shard key ``key``: the key
    itself and its ``<key>.partNNNofNNN`` parts (the key ends in a hash, so no other file's)."""
    return [n for n in names if n == key or n.startswith(f"{key}.part")]
