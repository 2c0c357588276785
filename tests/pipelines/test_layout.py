"""Where a run keeps its files, and the per-shard completion markers."""

from __future__ import annotations

import os

from pipelines.layout import Layout, file_fingerprint, shard_key, write_json_atomic


def test_shard_key_is_stable_readable_and_path_specific(tmp_path):
    a, b = tmp_path / "x" / "crawl.warc.gz", tmp_path / "y" / "crawl.warc.gz"
    assert shard_key(a) == shard_key(a) and shard_key(a) != shard_key(b)
    assert shard_key(a).startswith("crawl-")


def test_marker_says_done_until_the_input_changes(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    layout = Layout(tmp_path / "out")
    assert not layout.is_done(src)
    marker = layout.marker(shard_key(src))
    write_json_atomic(marker, {"key": shard_key(src), "fingerprint": file_fingerprint(src)})
    assert layout.is_done(src) and not list(marker.parent.glob("*.tmp"))
    assert [m["key"] for m in layout.done_markers()] == [shard_key(src)]
    src.write_text("{}\n{}\n")
    os.utime(src, ns=(1, 1))
    assert not layout.is_done(src)
    marker.write_text("not json")
    assert not layout.is_done(src)


def test_paths_and_file_lists(tmp_path):
    layout = Layout(tmp_path)
    assert layout.docs_files() == [] and layout.rejects_files() == []
    for key in ("b", "a"):
        layout.docs_dir(key).mkdir(parents=True)
        (layout.docs_dir(key) / "part-0.parquet").write_bytes(b"")
    assert [p.parent.name for p in layout.docs_files()] == ["a", "b"]
    assert layout.ledger == tmp_path / "corpus.duckdb" and layout.corpus == tmp_path / "corpus"
    assert layout.decisions_dir() == tmp_path / "work" / "decisions"
    assert layout.rejects_file("a") == tmp_path / "work" / "rejects" / "a.parquet"
