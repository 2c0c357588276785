"""Parquet reader: streams record batches with pyarrow, one row group at a time.

A ``text`` column (or the one named by ``text_field``) is required (its absence
is one ``missing-text`` reject for the file). ``id`` and ``url`` (or a ``metadata`` struct with ``url``, as Dolma
writes it) follow the same rules as JSONL; every other column goes to
``metadata``, converted to JSON-serialisable values (timestamps as ISO strings,
binary as base64). A file pyarrow cannot open (bad footer, truncated) is one
``corrupt-parquet`` reject. Row groups are read one at a time, so a row group
that fails to decode costs its remaining rows (one reject) and the reader goes
on with the next one.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.readers.base import Record, Reject
from corpus.readers.jsonl import MAX_RECORD_BYTES, record_from_mapping

BATCH_ROWS = 1024  # rows per decoded batch: bounds memory for huge row groups


def jsonable(value: Any) -> Any:
    """Arrow's Python values -> what ``json.dumps`` accepts."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # map columns arrive as lists of (key, value) tuples
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): jsonable(v) for k, v in value}
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _row_record(
    row: dict[str, Any],
    position: int,
    file_name: str,
    max_bytes: int,
    text_field: str = "text",
    id_field: str = "id",
) -> Record | Reject:
    text = row.get(text_field)
    if isinstance(text, bytes):  # a binary text column: decode strictly, like JSONL
        try:
            row[text_field] = text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Reject(
                position, f"invalid-utf8: byte {text[exc.start]:#04x} at offset {exc.start}"
            )
    if isinstance(text, str) and len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
        return Reject(position, f"record-too-large: {len(text.encode())} bytes")
    return record_from_mapping(
        {k: (v if k == text_field else jsonable(v)) for k, v in row.items()},
        position,
        file_name,
        text_field,
        id_field,
    )


def read(
    path: Path,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
    text_field: str = "text",
    id_field: str = "id",
    keep: Callable[[int], bool] | None = None,
) -> Iterator[Record | Reject]:
    """Stream the rows of one Parquet file as Records/Rejects; ``keep(position)``: only
    these rows become Records (``pipelines.parts``)."""
    items = _read(Path(path), max_record_bytes, text_field, id_field, keep)
    return items if keep is None else (i for i in items if keep(i.position))


def _read(
    path: Path,
    max_record_bytes: int,
    text_field: str,
    id_field: str,
    keep: Callable[[int], bool] | None,
) -> Iterator[Record | Reject]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        yield Reject(0, f"corrupt-parquet: {exc}")
        return
    with parquet:
        if text_field not in parquet.schema_arrow.names:
            yield Reject(0, f"missing-text: no {text_field!r} column")
            return
        start = 0
        for group in range(parquet.num_row_groups):
            position = start
            batches = parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group])
            try:
                for batch in batches:
                    for row in batch.to_pylist():
                        if keep is None or keep(position):
                            yield _row_record(
                                row, position, path.name, max_record_bytes, text_field, id_field
                            )
                        position += 1
            except (pa.ArrowException, OSError) as exc:
                # Row groups are independent: lose the rest of this one, read the next.
                yield Reject(position, f"corrupt-parquet: row group {group}: {exc}")
            start += parquet.metadata.row_group(group).num_rows
