"""WET reader: Common Crawl's extracted-text ``conversion`` records.

Common Crawl already extracted the text (all visible text, boilerplate kept),
so each ``conversion`` record's block is the document as is. Other record
types (``warcinfo``) are skipped. Truncation, size and corrupt-gzip handling
are the WARC reader's. WET text is written as UTF-8 by Common Crawl; a block
that is not valid UTF-8 is an ``invalid-utf8`` reject (same rule as JSONL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastwarc.warc import WarcRecordType

from corpus.readers.base import Record, Reject
from corpus.readers.jsonl import MAX_RECORD_BYTES
from corpus.readers.warc import iter_records, read_block, target_uri

_METADATA_HEADERS = {
    "WARC-Date": "warc_date",
    "WARC-Refers-To": "warc_refers_to",
    "WARC-Identified-Content-Language": "cc_languages",
}


def read(
    path: Path,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
    keep: Callable[[int], bool] | None = None,
) -> Iterator[Record | Reject]:
    """Stream the conversion records of one WET file as Records; ``keep(position)``: only
    these records are read (``pipelines.parts``)."""
    path = Path(path)
    for position, rec, error in iter_records(path):
        if keep is not None and not keep(position):
            continue
        if rec is None:
            yield Reject(position, error or "corrupt-warc")
            return
        if rec.record_type != WarcRecordType.conversion:
            continue
        block = read_block(rec, position, max_record_bytes)
        if isinstance(block, Reject):
            yield block
            continue
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Reject(
                position, f"invalid-utf8: byte {block[exc.start]:#04x} at offset {exc.start}"
            )
            continue
        metadata: dict[str, Any] = {
            key: rec.headers.get(header)
            for header, key in _METADATA_HEADERS.items()
            if rec.headers.get(header)
        }
        url = target_uri(rec)
        yield Record(
            id=rec.headers.get("WARC-Record-ID") or f"{path.name}:{position}",
            text=text.strip(),
            position=position,
            url=url,
            metadata=metadata,
        )
