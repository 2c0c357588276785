"""JSONL writers: readable in every compression, atomic, rolling shards by count and bytes."""

from __future__ import annotations

import gzip
import json

import pytest
import zstandard

from corpus.writer import JsonlWriter, ShardedWriter


def _lines(path) -> list[dict]:
    raw = path.read_bytes()
    if path.name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
    elif path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.decode().splitlines()]


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"])
def test_jsonl_writer_round_trips_unicode(tmp_path, name):
    path = tmp_path / "sub" / name
    with JsonlWriter(path) as w:
        w.write({"id": "1", "text": "Grüße, 世界"})
        w.write({"id": "2", "text": "two"})
    assert _lines(path) == [{"id": "1", "text": "Grüße, 世界"}, {"id": "2", "text": "two"}]
    assert w.n_records == 2 and not list(tmp_path.rglob("*.tmp"))


def test_an_error_leaves_neither_the_file_nor_its_temp(tmp_path):
    path = tmp_path / "a.jsonl.zst"
    with pytest.raises(RuntimeError), JsonlWriter(path) as w:
        w.write({"id": "1"})
        raise RuntimeError("killed")
    assert not path.exists() and not list(tmp_path.iterdir())


def test_sharded_writer_rolls_by_documents_and_bytes(tmp_path):
    with ShardedWriter(tmp_path / "c", max_docs=2) as w:
        names = [w.write({"id": str(i), "text": "x"}) for i in range(5)]
    assert names == ["part-00000.jsonl.zst"] * 2 + ["part-00001.jsonl.zst"] * 2 + [
        "part-00002.jsonl.zst"
    ]
    assert [r["n_records"] for r in w.parts] == [2, 2, 1]
    assert [d["id"] for p in sorted((tmp_path / "c").iterdir()) for d in _lines(p)] == list("01234")
    with ShardedWriter(tmp_path / "d", max_bytes=30, prefix="shard") as w:
        names = [w.write({"id": str(i), "text": "y" * 20}) for i in range(3)]
    assert names == ["shard-00000.jsonl.zst", "shard-00001.jsonl.zst", "shard-00002.jsonl.zst"]
