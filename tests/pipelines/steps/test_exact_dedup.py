"""Exact dedup over hand-written ingest Parquet: first by (source_file, position) wins."""

from __future__ import annotations

from pipelines.config import load_config
from pipelines.layout import Layout
from pipelines.steps.base import StepContext
from pipelines.steps.exact_dedup import ExactDedup
from tests.pipelines.steps.conftest import write_docs


def test_later_copies_are_dropped_and_ingest_drops_are_not_candidates(tmp_path):
    layout = Layout(tmp_path)
    write_docs(
        layout,
        [
            {"id": "gone", "text": "same", "text_hash": 7, "drop_stage": "quality",
             "drop_reason": "too-short"},
            {"id": "first", "text": "same", "text_hash": 7},
            {"id": "copy", "text": "same", "text_hash": 7},
            {"id": "other", "text": "different", "text_hash": 8},
        ],
        key="b",
    )  # fmt: skip
    write_docs(layout, [{"id": "copy-in-a", "text": "same", "text_hash": 7}], key="c")
    table = ExactDedup().run(StepContext(load_config(), layout))
    got = sorted(
        zip(
            *(table.column(c).to_pylist() for c in ("uid", "duplicate_of", "drop_reason")),
            strict=True,
        )
    )
    assert got == [("b/2", "first", "exact-duplicate"), ("c/0", "first", "exact-duplicate")]
    assert set(table.column("drop_stage").to_pylist()) == {"exact-dedup"}


def test_without_text_hashes_nothing_is_decided(tmp_path):
    layout = Layout(tmp_path)
    write_docs(layout, [{"id": "a", "text": "x"}, {"id": "b", "text": "x"}])
    assert ExactDedup().run(StepContext(load_config(), layout)).num_rows == 0
