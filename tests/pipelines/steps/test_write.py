"""The write step: survivors in (source_file, position) order, metadata, uid -> shard."""

from __future__ import annotations

import json

import pyarrow as pa
import zstandard

from pipelines.config import ShardConfig
from pipelines.layout import Layout
from pipelines.steps.base import decision_table, write_decisions
from pipelines.steps.classify import Classify
from pipelines.steps.write import write_corpus
from tests.pipelines.steps.conftest import write_docs


def _read(part) -> list[dict]:
    with zstandard.open(part, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_survivors_are_written_in_order_with_their_metadata(tmp_path):
    layout = Layout(tmp_path)
    write_docs(layout, [{"id": "b0", "text": "B zero"}, {"id": "b1", "text": "B one"}], key="b")
    write_docs(
        layout,
        [{"id": "a0", "text": "A zero", "url": "https://e.org/a0"},
         {"id": "a1", "text": "A one", "drop_stage": "quality", "drop_reason": "x"}],
        key="a",
    )  # fmt: skip
    scores = decision_table(
        Classify,
        {"uid": ["b/1", "a/0"], "edu_score": [1.0, 4.5], "edu_int": [1, 4],
         "drop_stage": ["classify", None], "drop_reason": ["low-edu", None]},
    )  # fmt: skip
    write_decisions(scores, layout.decisions_dir() / "30-classify.parquet")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "stale.jsonl.zst").write_bytes(b"old")
    table, n_docs, n_tokens = write_corpus(
        layout.docs_files(), [layout.decisions_dir() / "30-classify.parquet"],
        layout.corpus, ShardConfig(max_docs=1),
    )  # fmt: skip
    assert (n_docs, n_tokens) == (2, 4)
    parts = sorted(layout.corpus.iterdir())
    assert [p.name for p in parts] == ["part-00000.jsonl.zst", "part-00001.jsonl.zst"]
    docs = [d for p in parts for d in _read(p)]
    assert [d["id"] for d in docs] == ["a0", "b0"]  # /data/a.jsonl sorts before /data/b.jsonl
    assert docs[0]["metadata"]["url"] == "https://e.org/a0"
    assert docs[0]["metadata"]["edu_score"] == 4.5
    assert dict(
        zip(table.column("uid").to_pylist(), table.column("shard").to_pylist(), strict=True)
    ) == {
        "a/0": "part-00000.jsonl.zst",
        "b/0": "part-00001.jsonl.zst",
    }
    assert table.column("drop_reason").null_count == 2
    assert not (tmp_path / "corpus.new").exists() and not (tmp_path / "corpus.old").exists()


def test_an_empty_run_still_has_a_corpus(tmp_path):
    layout = Layout(tmp_path)
    write_docs(layout, [{"id": "a", "text": "x", "drop_stage": "quality", "drop_reason": "y"}])
    table, n, _ = write_corpus(layout.docs_files(), [], layout.corpus, ShardConfig())
    assert n == 0 and table.num_rows == 0 and layout.corpus.is_dir()
    assert isinstance(table, pa.Table)
