"""Every parsed record of a set of inputs: the loop commands used to write by hand.

``iter_records(inputs)`` expands the patterns (files, globs, folders) at once, so a
bad pattern fails before the caller opens any output, then streams ``Record``s file by
file; a ``Reject`` is counted in ``stats`` and handed to ``on_reject``, never yielded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.readers.base import Record, Reject
from corpus.readers.inputs import expand_inputs, read_path


@dataclass
class ReadStats:
    files: int = 0
    records: int = 0
    rejects: int = 0


def iter_records(
    inputs: Iterable[str],
    *,
    limit: int | None = None,
    source_languages: list[str] | None = None,
    stats: ReadStats | None = None,
    on_reject: Callable[[Path, Reject], None] | None = None,
    **read_options: Any,
) -> Iterator[Record]:
    """Records of every input, in ``expand_inputs`` order, at most ``limit`` of them.

    ``source_languages`` also reads source files (see ``expand_inputs``);
    ``read_options`` go to ``read_path`` (``max_record_bytes``, ``extractor``,
    ``text_field``, ``id_field``).
    """
    paths = expand_inputs(list(inputs), source_languages)  # errors now, not at first next()
    stats = stats if stats is not None else ReadStats()
    stats.files = len(paths)
    return _records(paths, limit, stats, on_reject, read_options)


def _records(
    paths: list[Path],
    limit: int | None,
    stats: ReadStats,
    on_reject: Callable[[Path, Reject], None] | None,
    read_options: dict[str, Any],
) -> Iterator[Record]:
    if limit is not None and limit <= 0:
        return
    for path in paths:
        for item in read_path(path, **read_options):
            if isinstance(item, Reject):
                stats.rejects += 1
                if on_reject is not None:
                    on_reject(path, item)
                continue
            stats.records += 1
            yield item
            if limit is not None and stats.records >= limit:
                return
