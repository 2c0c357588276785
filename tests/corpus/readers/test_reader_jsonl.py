from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pytest
import zstandard

from corpus.readers.base import Record, Reject
from corpus.readers.jsonl import read

DOCS = [
    {"id": "a", "text": "first document", "url": "https://www.example.com/a", "lang": "en"},
    {"text": "no id here", "score": 0.5},
    {
        "id": "dolma-1",
        "text": "dolma style",
        "source": "cc",
        "metadata": {"url": "example.org/page", "content_type": "text/html"},
    },
    {"id": 7, "text": ""},
]


def write_lines(path: Path, lines: list[bytes]) -> Path:
    data = b"".join(line + b"\n" for line in lines)
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def encode(docs: list[dict]) -> list[bytes]:
    return [json.dumps(d).encode() for d in docs]


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.jsonl.gz", "docs.jsonl.zst", "docs.ndjson"])
def test_reads_every_compression(tmp_path: Path, name: str) -> None:
    items = list(read(write_lines(tmp_path / name, encode(DOCS))))
    assert all(isinstance(i, Record) for i in items)
    assert [i.text for i in items] == [d["text"] for d in DOCS]
    assert [i.position for i in items] == [0, 1, 2, 3]


def test_ids_urls_and_metadata(tmp_path: Path) -> None:
    a, b, dolma, numeric = read(write_lines(tmp_path / "d.jsonl", encode(DOCS)))
    assert (a.id, a.url, a.metadata) == ("a", "https://www.example.com/a", {"lang": "en"})
    assert b.id == "d.jsonl:1" and b.url is None and b.metadata == {"score": 0.5}
    assert dolma.url == "example.org/page"
    assert dolma.metadata == {"source": "cc", "content_type": "text/html"}
    assert numeric.id == "7"
    assert numeric.text == ""  # empty text is a Record; the pipeline drops it with a reason
    json.dumps([r.metadata for r in (a, b, dolma, numeric)])


def test_bad_lines_are_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    lines = [
        b'{"id": "ok1", "text": "good"}',
        b'{"id": "broken", "text": ',
        b"[1, 2, 3]",
        b"42",
        b'{"id": "no-text"}',
        b'{"id": "int-text", "text": 5}',
        b'{"id": "latin1", "text": "caf\xe9"}',
        b"",
        b"   ",
        b'{"id": "ok2", "text": "still read"}',
    ]
    items = list(read(write_lines(tmp_path / "bad.jsonl", lines)))
    got = [(i.position, i.id if isinstance(i, Record) else i.error.split(":")[0]) for i in items]
    assert got == [
        (0, "ok1"),
        (1, "invalid-json"),
        (2, "not-an-object"),
        (3, "not-an-object"),
        (4, "missing-text"),
        (5, "missing-text"),
        (6, "invalid-utf8"),
        (9, "ok2"),
    ]
    assert items[2].error == "not-an-object: list"
    assert items[6].error == "invalid-utf8: byte 0xe9 at offset 29"


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b'{"text": "one"}\r\n{"text": "two"}\r\n')
    assert [r.text for r in read(path)] == ["one", "two"]


def test_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "nonl.jsonl"
    path.write_bytes(b'{"text": "one"}\n{"text": "two"}')
    assert [r.text for r in read(path)] == ["one", "two"]


def test_50mb_line_is_rejected_in_bounded_memory(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    prefix, suffix = b'{"id": "huge", "text": "', b'"}'
    huge = prefix + b"a" * (size - len(prefix) - len(suffix)) + suffix
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"id": "before", "text": "x"}\n')
        f.write(huge + b"\n")
        f.write(b'{"id": "after", "text": "y"}\n')
    del huge
    tracemalloc.start()
    try:
        items = list(read(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert items[0].id == "before" and items[2].id == "after"
    assert items[1].position == 1
    assert items[1].error == f"record-too-large: {size} bytes"
    assert peak < 25 * 1024 * 1024  # the 10 MiB limit once plus buffers, never the 50 MB line


def test_max_record_bytes_is_configurable(tmp_path: Path) -> None:
    lines = [b'{"text": "short"}', json.dumps({"text": "x" * 500}).encode(), b'{"text": "ok"}']
    items = list(read(write_lines(tmp_path / "d.jsonl.gz", lines), max_record_bytes=100))
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert items[1].error == f"record-too-large: {len(lines[1])} bytes"


def test_line_exactly_at_limit_is_kept(tmp_path: Path) -> None:
    line = json.dumps({"text": "x" * 80}).encode()
    items = list(read(write_lines(tmp_path / "d.jsonl", [line, line]), max_record_bytes=len(line)))
    assert all(isinstance(i, Record) for i in items) and len(items) == 2


def test_truncated_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    docs = [{"id": str(i), "text": f"document number {i} " * 20} for i in range(200)]
    path = write_lines(tmp_path / "d.jsonl.gz", encode(docs))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    items = list(read(path))
    records, last = items[:-1], items[-1]
    assert records and all(isinstance(r, Record) for r in records)
    assert [r.id for r in records] == [str(i) for i in range(len(records))]
    assert isinstance(last, Reject) and last.error.startswith("corrupt-gzip: ")
    assert last.position == len(records)


def test_garbled_gzip_ends_with_a_reject(tmp_path: Path) -> None:
    docs = [{"id": str(i), "text": f"document number {i} " * 20} for i in range(200)]
    path = write_lines(tmp_path / "d.jsonl.gz", encode(docs))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    items = list(read(path))
    # gzip only notices at the member's CRC: garbage lines may come first, never an exception
    assert isinstance(items[-1], Reject) and items[-1].error.startswith("corrupt-gzip: ")
    intact = [i for i in items if isinstance(i, Record) and i.text == docs[int(i.id)]["text"]]
    assert len(intact) >= 50


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(b'{"text": "plain text, wrong suffix"}\n')
    (item,) = list(read(path))
    assert isinstance(item, Reject) and item.error.startswith("corrupt-gzip: ")


def test_truncated_zstd_keeps_what_came_before(tmp_path: Path) -> None:
    docs = [{"id": str(i), "text": f"zstd document {i} " * 30} for i in range(300)]
    path = write_lines(tmp_path / "d.jsonl.zst", encode(docs))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    items = list(read(path))
    assert isinstance(items[-1], Reject) and items[-1].error.startswith("corrupt-zstd: ")
    assert all(isinstance(r, Record) for r in items[:-1])
    assert [r.id for r in items[:-1]] == [str(i) for i in range(len(items) - 1)]


def test_zstd_multiple_frames_and_50mb_line(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    huge = b'{"text": "' + b"b" * (size - 12) + b'"}'
    cctx = zstandard.ZstdCompressor()
    path = tmp_path / "frames.jsonl.zst"
    path.write_bytes(
        cctx.compress(b'{"id": "f1", "text": "frame one"}\n')
        + cctx.compress(huge + b"\n")
        + cctx.compress(b'{"id": "f3", "text": "frame three"}\n')
    )
    del huge
    items = list(read(path))
    assert [getattr(i, "id", None) for i in items] == ["f1", None, "f3"]
    assert items[1].error == f"record-too-large: {size} bytes"


@pytest.mark.parametrize("name", ["e.jsonl", "e.jsonl.gz", "e.jsonl.zst"])
def test_empty_files(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    assert list(read(tmp_path / name)) == []
    assert list(read(write_lines(tmp_path / f"blank-{name}", [b"", b"  "]))) == []
