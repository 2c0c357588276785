"""Binary files are one reject, other text fields map, skipped input files are named."""

from __future__ import annotations

import gzip
import json
import logging
import random

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.readers import Record, Reject, expand_inputs, read_path
from corpus.readers.jsonl import looks_binary


def _binary(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def test_binary_file_is_one_reject(tmp_path):
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(_binary(200_000))
    items = list(read_path(junk))
    assert len(items) == 1 and isinstance(items[0], Reject)
    assert items[0].position == 0 and items[0].error.startswith("binary-data: ")
    n = int(items[0].error.split()[1])  # every undecodable line, counted in one row
    assert 700 < n <= _binary(200_000).count(b"\n") + 1


def test_binary_gzip_member_is_one_reject(tmp_path):
    junk = tmp_path / "junk.jsonl.gz"
    with gzip.open(junk, "wb") as f:
        f.write(_binary(50_000, seed=1))
    items = list(read_path(junk))
    assert [type(i) for i in items] == [Reject] and "binary-data" in items[0].error


def test_good_lines_around_binary_runs_are_kept(tmp_path):
    """A binary-looking head does not cost the JSON lines that follow; each run is one reject."""
    good = [json.dumps({"id": f"g{i}", "text": f"good document {i}"}).encode() for i in range(3)]
    blob_a = _binary(9000, seed=2).replace(b"\n", b"")
    blob_b = (b"\x00\x01\x02garbage\n" * 5).rstrip(b"\n")
    data = b"\n".join([blob_a, good[0], blob_b, good[1], good[2]]) + b"\n"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    items = list(read_path(path))
    records = [i for i in items if isinstance(i, Record)]
    rejects = [i for i in items if isinstance(i, Reject)]
    assert [r.id for r in records] == ["g0", "g1", "g2"]
    assert [(r.position, r.error.split(":")[0]) for r in rejects] == [
        (0, "binary-data"),
        (2, "binary-data"),
    ]
    assert "5 undecodable line(s) from line 2" in rejects[1].error


def test_text_files_keep_one_reject_per_bad_line(tmp_path):
    """A text file that is not JSON (README renamed .jsonl) is not 'binary'."""
    path = tmp_path / "notes.jsonl"
    path.write_text("first line of notes\nsecond line\n" + json.dumps({"text": "ok"}) + "\n")
    items = list(read_path(path))
    assert [type(i).__name__ for i in items] == ["Reject", "Reject", "Record"]
    assert looks_binary("Grüße aus Köln\n".encode("latin-1")) is False
    assert looks_binary("text".encode("utf-16")) is True


def test_jsonl_text_and_id_fields(tmp_path):
    path = tmp_path / "redpajama.jsonl"
    rows = [
        {"doc_id": "r1", "raw_content": "A page about tides.", "text": "not this", "url": "u"},
        {"doc_id": 7, "raw_content": "Another page."},
        {"doc_id": "r3", "content": "wrong field"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items = list(read_path(path, text_field="raw_content", id_field="doc_id"))
    a, b, c = items
    assert (a.id, a.text, a.url) == ("r1", "A page about tides.", "u")
    assert a.metadata == {"text": "not this"}  # the unused field is kept, not lost
    assert (b.id, b.text) == ("7", "Another page.")
    assert c == Reject(2, "missing-text: raw_content is absent")
    # Defaults unchanged: these rows have no `text`... except the first.
    assert [type(i).__name__ for i in read_path(path)] == ["Record", "Reject", "Reject"]


def test_parquet_text_field(tmp_path):
    path = tmp_path / "the-stack.parquet"
    pq.write_table(pa.table({"content": ["def f(): pass"], "hexsha": ["abc"]}), path)
    (rec,) = list(read_path(path, text_field="content", id_field="hexsha"))
    assert (rec.id, rec.text) == ("abc", "def f(): pass")
    assert list(read_path(path)) == [Reject(0, "missing-text: no 'text' column")]


def test_every_skipped_file_in_a_directory_is_named(tmp_path, caplog):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "a.jsonl").write_text('{"text": "x"}\n')
    (d / "README.md").write_text("about\n")
    (d / "sub" / "pages.warc.wat.gz").write_bytes(b"")
    (d / "_SUCCESS").write_text("")
    with caplog.at_level(logging.WARNING, logger="primer.inputs"):
        files = expand_inputs([str(d)])
    assert files == [d / "a.jsonl"]
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 3
    assert any(str(d / "README.md") in m and "not a supported type" in m for m in skipped)
    assert any(str(d / "sub" / "pages.warc.wat.gz") in m for m in skipped)
    assert any(str(d / "_SUCCESS") in m and "bookkeeping" in m for m in skipped)
