from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.readers.base import Record, Reject
from corpus.readers.parquet import jsonable, read


def write(path: Path, table: pa.Table, row_group_size: int = 3) -> Path:
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_streams_row_groups_with_ids_urls_metadata(tmp_path: Path) -> None:
    n = 10
    table = pa.table(
        {
            "id": [f"doc-{i}" for i in range(n)],
            "text": [f"text {i}" for i in range(n)],
            "url": [f"https://www.site{i}.com/x" for i in range(n)],
            "score": [i / 10 for i in range(n)],
            "crawled": [dt.datetime(2024, 1, 1, 12, 0, i) for i in range(n)],
            "raw": [bytes([i]) for i in range(n)],
            "tags": [["a", "b"]] * n,
        }
    )
    items = list(read(write(tmp_path / "t.parquet", table)))
    assert pq.ParquetFile(tmp_path / "t.parquet").num_row_groups == 4
    assert [r.position for r in items] == list(range(n))
    first = items[0]
    assert isinstance(first, Record)
    assert (first.id, first.text, first.url) == ("doc-0", "text 0", "https://www.site0.com/x")
    assert first.metadata == {
        "score": 0.0,
        "crawled": "2024-01-01T12:00:00",
        "raw": "AA==",
        "tags": ["a", "b"],
    }
    json.dumps([r.metadata for r in items])


def test_dolma_metadata_struct_gives_url_and_fallback_ids(tmp_path: Path) -> None:
    table = pa.table(
        {
            "text": ["one", "two"],
            "metadata": [{"url": "example.org/1", "lang": "en"}, {"url": None, "lang": "fr"}],
        }
    )
    one, two = read(write(tmp_path / "dolma.parquet", table))
    assert one.id == "dolma.parquet:0" and one.url == "example.org/1"
    assert one.metadata == {"lang": "en"}
    assert two.url is None and two.metadata["lang"] == "fr"


def test_missing_text_column_is_one_reject(tmp_path: Path) -> None:
    items = list(read(write(tmp_path / "no-text.parquet", pa.table({"body": ["x", "y"]}))))
    assert items == [Reject(0, "missing-text: no 'text' column")]


def test_null_text_rows_are_rejected_others_kept(tmp_path: Path) -> None:
    table = pa.table({"id": ["a", "b", "c"], "text": ["ok", None, ""]})
    a, b, c = read(write(tmp_path / "nulls.parquet", table))
    assert isinstance(a, Record) and isinstance(c, Record) and c.text == ""
    assert b == Reject(1, "missing-text: text is absent")


def test_binary_text_column(tmp_path: Path) -> None:
    table = pa.table({"text": pa.array([b"caf\xc3\xa9", b"caf\xe9"], type=pa.binary())})
    good, bad = read(write(tmp_path / "bin.parquet", table))
    assert good.text == "café"
    assert isinstance(bad, Reject) and bad.error.startswith("invalid-utf8: byte 0xe9")


def test_record_too_large(tmp_path: Path) -> None:
    table = pa.table({"text": ["small", "é" * 100, "small"]})
    items = list(read(write(tmp_path / "big.parquet", table), max_record_bytes=150))
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert items[1].error == "record-too-large: 200 bytes"


def test_corrupt_and_truncated_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"this is not parquet at all")
    (item,) = read(junk)
    assert isinstance(item, Reject) and item.error.startswith("corrupt-parquet: ")

    table = pa.table({"text": [f"row {i} " * 50 for i in range(100)]})
    path = write(tmp_path / "cut.parquet", table, row_group_size=10)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the footer is gone
    (item,) = read(path)
    assert isinstance(item, Reject) and item.error.startswith("corrupt-parquet: ")


def test_empty_parquet(tmp_path: Path) -> None:
    table = pa.table({"text": pa.array([], type=pa.string())})
    assert list(read(write(tmp_path / "empty.parquet", table))) == []


def test_jsonable_map_and_nested_values() -> None:
    assert jsonable([("k", 1), ("j", dt.date(2020, 1, 2))]) == {"k": 1, "j": "2020-01-02"}
    assert jsonable({"a": [dt.timedelta(seconds=3)]}) == {"a": [3.0]}


def test_garbled_row_group_costs_only_that_group(tmp_path: Path) -> None:
    table = pa.table({"text": [f"row {i} " + "lorem ipsum " * (i % 7) for i in range(100)]})
    path = tmp_path / "garbled.parquet"
    pq.write_table(table, path, row_group_size=10, compression="zstd")
    meta = pq.ParquetFile(path).metadata
    start = meta.row_group(5).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 8 : start + 40] = b"\xff" * 32
    path.write_bytes(bytes(data))
    items = list(read(path))
    records = [i for i in items if isinstance(i, Record)]
    assert [r.text for r in records[:50]] == table.column("text").to_pylist()[:50]
    (reject,) = [i for i in items if isinstance(i, Reject)]
    assert reject.error.startswith("corrupt-parquet: row group 5: ") and reject.position == 50
    assert [r.position for r in records[50:]] == list(range(60, 100))
    assert [r.text for r in records[50:]] == table.column("text").to_pylist()[60:]
