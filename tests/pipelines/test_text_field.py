"""Sources whose text is not in `text` (RedPajama `raw_content`, The Stack `content`)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import load_config
from pipelines.ingest import ingest_shard
from pipelines.layout import Layout
from tests.pipelines.conftest import TOPICS, _doc


def _rows(n: int) -> list[dict]:
    return [{"doc_id": f"r{i}", "raw_content": _doc(i, TOPICS[i])} for i in range(n)]


def test_extract_text_field(tmp_path):
    src = tmp_path / "rp.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in _rows(3)) + "\n")
    out = tmp_path / "x.jsonl"
    args = ["extract", str(src), "-o", str(out), "--text-field", "raw_content"]
    result = CliRunner().invoke(main, [*args, "--id-field", "doc_id"])
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["id"] for d in docs] == ["r0", "r1", "r2"]
    assert docs[0]["text"] == _doc(0, TOPICS[0])
    # Without the option these rows have no text: every one is a reject.
    default = CliRunner().invoke(main, ["extract", str(src), "-o", str(tmp_path / "y.jsonl")])
    assert "0 records, 3 rejects" in default.output


def test_pipeline_reads_the_configured_text_field(tmp_path):
    src = tmp_path / "rp.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in _rows(4)) + "\n")
    sets = ["reader.text_field=raw_content", "reader.id_field=doc_id"]
    cfg = load_config(None, sets, inputs=(str(src),), output=str(tmp_path / "out"))
    layout = Layout(tmp_path / "out")
    summary = ingest_shard(src, layout, cfg)
    assert summary["n_docs"] == 4 and summary["n_rejects"] == 0
    table = pq.read_table(next(layout.work.glob("docs/*/*.parquet")), columns=["id", "text"])
    assert table.column("id").to_pylist() == ["r0", "r1", "r2", "r3"]
    assert table.column("text").to_pylist()[1] == _doc(1, TOPICS[1])
