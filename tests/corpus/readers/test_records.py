"""``iter_records``: the expand -> read -> skip-rejects loop every command shares."""

from __future__ import annotations

import json

import pytest

from corpus.readers import InputError, ReadStats, Record, iter_records


def _jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_records_in_order_rejects_counted_and_reported(tmp_path):
    _jsonl(tmp_path / "a.jsonl", [json.dumps({"id": "a1", "text": "one"}), "{not json"])
    _jsonl(tmp_path / "b.jsonl", [json.dumps({"id": "b1", "text": "two"})])
    (tmp_path / "notes.txt").write_text("not an input format")
    stats, seen = ReadStats(), []
    recs = list(
        iter_records([str(tmp_path)], stats=stats, on_reject=lambda p, r: seen.append(p.name))
    )
    assert all(isinstance(r, Record) for r in recs)
    assert [r.id for r in recs] == ["a1", "b1"]
    assert (stats.files, stats.records, stats.rejects) == (2, 2, 1)
    assert seen == ["a.jsonl"]


def test_limit_and_read_options(tmp_path):
    rows = [json.dumps({"key": f"k{i}", "content": f"text {i}"}) for i in range(5)]
    path = _jsonl(tmp_path / "c.jsonl", rows)
    recs = list(iter_records([str(path)], limit=3, text_field="content", id_field="key"))
    assert [(r.id, r.text) for r in recs] == [("k0", "text 0"), ("k1", "text 1"), ("k2", "text 2")]
    assert list(iter_records([str(path)], limit=0)) == []


def test_a_bad_pattern_fails_before_iteration(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        iter_records([str(tmp_path / "missing.jsonl")])  # no next() needed


def test_source_files_only_with_source_languages(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    with pytest.raises(InputError):
        iter_records([str(tmp_path / "m.py")])
    recs = list(iter_records([str(tmp_path / "m.py")], source_languages=["python"]))
    assert len(recs) == 1 and "def f" in recs[0].text
