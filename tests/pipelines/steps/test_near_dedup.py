"""The near dedup step in-process (``ray.mode: local``): reads the ingest Parquet itself."""

from __future__ import annotations

import random

from pipelines import ray_backend as rb
from pipelines.config import load_config
from pipelines.layout import Layout
from pipelines.steps.base import StepContext
from pipelines.steps.near_dedup import NearDedup
from tests.pipelines.steps.conftest import write_docs


def _words(rng: random.Random, n: int) -> list[str]:
    return [f"w{rng.randrange(5000)}" for _ in range(n)]


def test_near_copies_drop_survivors_only_and_every_member_gets_its_cluster(tmp_path):
    rng = random.Random(3)
    base = _words(rng, 200)
    edited = base[:150] + ["changed"] + base[151:]
    layout = Layout(tmp_path)
    write_docs(
        layout,
        [
            {"id": "orig", "text": " ".join(base)},
            {"id": "edit", "text": " ".join(edited)},
            {"id": "other", "text": " ".join(_words(rng, 200))},
            # a copy that ingest already dropped is no candidate
            {"id": "dropped", "text": " ".join(base), "drop_stage": "langid",
             "drop_reason": "low_lang_score"},
        ],
    )  # fmt: skip
    cfg = load_config(None, ["ray.mode=local"])
    try:
        table = NearDedup().run(StepContext(cfg, layout))
    finally:
        rb.shutdown()
    rows = {r["uid"]: r for r in table.to_pylist()}
    assert set(rows) == {"in-0/0", "in-0/1"}
    assert rows["in-0/1"]["drop_reason"] == "near-duplicate"
    assert rows["in-0/1"]["duplicate_of"] == "orig"
    assert rows["in-0/0"]["drop_reason"] is None
    assert rows["in-0/0"]["dup_cluster"] == rows["in-0/1"]["dup_cluster"] == "in-0/0"
    assert (tmp_path / "work" / "near" / "minhash").is_dir()


def test_off_until_ingest_writes_an_empty_table_and_no_index(tmp_path):
    layout = Layout(tmp_path)
    write_docs(layout, [{"id": "a", "text": "one two three"}])
    (tmp_path / "work" / "near").mkdir(parents=True)
    assert NearDedup().run(StepContext(load_config(), layout, until="ingest")).num_rows == 0
    assert not (tmp_path / "work" / "near").exists()
