from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.readers.base import Record
from corpus.readers.inputs import InputError, expand_inputs, input_format, read_path


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.warc.wet.gz", "wet"),
        ("a.wet.gz", "wet"),
        ("a.wet", "wet"),
        ("CC-MAIN-1.warc.gz", "warc"),
        ("a.warc", "warc"),
        ("a.jsonl", "jsonl"),
        ("a.json.gz", "jsonl"),
        ("a.ndjson.zst", "jsonl"),
        ("A.JSONL.ZST", "jsonl"),
        ("a.parquet", "parquet"),
        ("a.warc.wat.gz", None),
        ("a.txt", None),
        ("a.csv.gz", None),
    ],
)
def test_input_format(name: str, fmt: str | None) -> None:
    assert input_format(name) == fmt


def make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel in ["b.jsonl", "a.jsonl", "sub/c.jsonl.gz", "sub/deeper/d.parquet", "sub/x.warc.gz"]:
        (root / rel).write_bytes(b"")
    for rel in ["README.md", "_SUCCESS", "sub/.hidden.jsonl", "sub/x.warc.wat.gz"]:
        (root / rel).write_bytes(b"")


def test_directories_recursive_sorted_and_deduplicated(tmp_path: Path) -> None:
    make_tree(tmp_path)
    paths = expand_inputs([str(tmp_path), str(tmp_path / "a.jsonl"), str(tmp_path / "sub")])
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "a.jsonl",
        "b.jsonl",
        "sub/c.jsonl.gz",
        "sub/deeper/d.parquet",
        "sub/x.warc.gz",
    ]


def test_globs(tmp_path: Path) -> None:
    make_tree(tmp_path)
    top = expand_inputs([str(tmp_path / "*.jsonl")])
    assert [p.name for p in top] == ["a.jsonl", "b.jsonl"]
    deep = expand_inputs([str(tmp_path / "**" / "*.gz")])
    assert [p.name for p in deep] == ["c.jsonl.gz", "x.warc.gz"]  # the .wat is skipped in a glob


def test_errors_are_one_line(tmp_path: Path) -> None:
    make_tree(tmp_path)
    (tmp_path / "empty").mkdir()
    cases = [
        ([str(tmp_path / "missing.jsonl")], "no such file or directory"),
        ([str(tmp_path / "*.csv")], "matches no readable file"),
        ([str(tmp_path / "README.md")], "unknown file type"),
        ([str(tmp_path / "empty")], "directory holds no readable file"),
    ]
    for patterns, message in cases:
        with pytest.raises(InputError, match=message) as info:
            expand_inputs(patterns)
        assert "\n" not in str(info.value)


def test_read_path_dispatches_by_extension(tmp_path: Path, warc_builder) -> None:
    jsonl = tmp_path / "d.json"
    jsonl.write_text(json.dumps({"id": "j", "text": "from json"}) + "\n")
    wet = warc_builder("x.warc.wet.gz")
    wet.conversion("https://e.com/", b"from wet")
    (from_json,) = read_path(jsonl)
    (from_wet,) = read_path(wet.write())
    assert isinstance(from_json, Record) and from_json.text == "from json"
    assert isinstance(from_wet, Record) and from_wet.text == "from wet"
    with pytest.raises(InputError):
        read_path(tmp_path / "notes.txt")
