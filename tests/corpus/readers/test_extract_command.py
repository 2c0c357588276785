from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from pipelines.cli import main
from tests.corpus.readers.warc_fixtures import ARTICLE, html_page


def read_output(path: Path) -> list[dict]:
    data = path.read_bytes()
    if path.name.endswith(".zst"):
        data = zstandard.ZstdDecompressor().stream_reader(data).read()
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.fixture
def inputs(tmp_path: Path, warc_builder) -> list[str]:
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(
        '{"id": "j1", "text": "hello", "url": "https://e.com/j1", "lang": "en"}\n'
        "not json\n"
        '{"id": "j2", "text": ""}\n'
    )
    warc = warc_builder("pages.warc.gz")
    warc.request("https://e.com/p")
    warc.response("https://e.com/p", html_page("Plants", ARTICLE).encode())
    warc.response("https://e.com/f.pdf", b"%PDF", content_type="application/pdf")
    warc.write()
    return [str(jsonl), str(warc.path)]


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.jsonl.zst"])
def test_extract_writes_every_record(tmp_path: Path, inputs: list[str], out_name: str) -> None:
    out = tmp_path / "o" / out_name
    result = CliRunner().invoke(main, ["extract", *inputs, "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 records, 2 rejects from 2 file(s)" in result.stdout
    assert "docs.jsonl:1: invalid-json" in result.stderr
    assert "pages.warc.gz:2: not-html: application/pdf" in result.stderr
    rows = read_output(out)
    assert [r["id"] for r in rows[:2]] == ["j1", "j2"]
    assert rows[0] == {
        "id": "j1",
        "url": "https://e.com/j1",
        "text": "hello",
        "metadata": {"lang": "en"},
    }
    assert "Photosynthesis" in rows[2]["text"] and rows[2]["url"] == "https://e.com/p"
    assert sorted(p.name for p in out.parent.iterdir()) == [out_name]  # no temp file left


def test_extract_quiet_and_limits(tmp_path: Path, inputs: list[str]) -> None:
    out = tmp_path / "out.jsonl"
    args = ["extract", *inputs, "-o", str(out), "-q", "--max-record-bytes", "30"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "1 records, 4 rejects" in result.stdout  # only the 24-byte empty-text line fits


def test_extract_bad_input_leaves_no_output(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["extract", str(tmp_path / "nope.jsonl"), "-o", str(out)])
    assert result.exit_code != 0
    assert "nope.jsonl: no such file or directory" in result.output
    assert not out.exists()
    result = CliRunner().invoke(main, ["extract", str(tmp_path), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code != 0 and "--output" in result.output
