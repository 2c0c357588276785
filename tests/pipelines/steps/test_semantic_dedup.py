"""The semantic-dedup step on hand-made documents and cached vectors (no Ray, no model)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.config import load_config
from pipelines.layout import Layout
from pipelines.steps.base import StepContext
from pipelines.steps.classify import Classify, EmbeddingWriter
from pipelines.steps.semantic_dedup import SemanticDedup
from tests.pipelines.steps.conftest import write_docs

ON = ["dedup.semantic.enabled=true", "dedup.semantic.threshold=0.95"]


def _unit(*v: float) -> list[float]:
    x = np.asarray(v, dtype=np.float32)
    return (x / np.linalg.norm(x)).tolist()


def _setup(tmp_path) -> Layout:
    layout = Layout(tmp_path)
    write_docs(
        layout,
        [
            {"id": "photo", "text": "Plants make sugar from light."},
            {"id": "rocks", "text": "Rocks are made of minerals."},
            {"id": "photo-2", "text": "Plants produce sugar using light."},  # cos ~0.999
            {"id": "gone", "text": "x", "drop_stage": "quality", "drop_reason": "short"},
            {"id": "photo-3", "text": "Green plants turn light into sugar."},  # cos ~0.97
            {"id": "rocks-ish", "text": "Minerals and rocks."},  # cos ~0.9: kept at 0.95
        ],
    )
    vectors = {
        "in-0/0": _unit(1, 0, 0),
        "in-0/1": _unit(0, 1, 0),
        "in-0/2": _unit(1, 0.04, 0),
        "in-0/3": _unit(1, 0, 0),  # identical to photo, but dropped by ingest: not compared
        "in-0/4": _unit(1, 0.25, 0),
        "in-0/5": _unit(0.48, 1, 0),
    }
    w = EmbeddingWriter(layout.work / "embeddings" / "batch-1")
    w.write(pa.table({"uid": list(vectors), "embedding": list(vectors.values())}))
    w.close()
    return layout


def _rows(table: pa.Table) -> dict:
    return {
        r["uid"]: (r["drop_reason"], r["duplicate_of"], r["dup_cluster"], r["semantic_sim"])
        for r in table.to_pylist()
    }


def test_drops_semantic_duplicates_of_earlier_kept_survivors(tmp_path, capsys):
    layout = _setup(tmp_path)
    step = SemanticDedup()
    table = step.run(StepContext(load_config(None, ON), layout))
    rows = _rows(table)
    assert set(rows) == {"in-0/0", "in-0/2", "in-0/4"}  # the cluster: kept one + its drops
    assert rows["in-0/0"] == (None, None, "sem-in-0/0", None)
    assert rows["in-0/2"][:3] == ("semantic-duplicate", "photo", "sem-in-0/0")
    assert rows["in-0/4"][:3] == ("semantic-duplicate", "photo", "sem-in-0/0")
    assert rows["in-0/2"][3] == pytest.approx(0.9992, abs=1e-3)
    assert rows["in-0/4"][3] == pytest.approx(0.9701, abs=1e-3)
    assert set(table.column("drop_stage").to_pylist()) == {"semantic-dedup", None}
    out = capsys.readouterr().out
    assert "5 document(s), 5 vector(s) from the classifier or the cache, 0 to embed" in out
    assert "2 duplicate(s) at cosine > 0.95" in out
    # seeded: the same input gives the same table
    assert step.run(StepContext(load_config(None, ON), layout)).equals(table)


def test_a_lower_threshold_drops_more(tmp_path):
    layout = _setup(tmp_path)
    cfg = load_config(None, [*ON, "dedup.semantic.threshold=0.85", "dedup.semantic.n_clusters=1"])
    rows = _rows(SemanticDedup().run(StepContext(cfg, layout)))
    assert rows["in-0/5"][:3] == ("semantic-duplicate", "rocks", "sem-in-0/1")
    assert sum(r[0] is not None for r in rows.values()) == 3


def test_only_documents_earlier_steps_kept_are_compared(tmp_path):
    layout = _setup(tmp_path)
    earlier = tmp_path / "work" / "decisions" / "30-classify.parquet"
    earlier.parent.mkdir(parents=True)
    pq.write_table(
        pa.table({"uid": ["in-0/0"], "drop_stage": ["classify"], "drop_reason": ["low-edu"],
                  "duplicate_of": pa.nulls(1, pa.string()), "dup_cluster": pa.nulls(1, pa.string())}),
        earlier,
    )  # fmt: skip
    table = SemanticDedup().run(StepContext(load_config(None, ON), layout, earlier=[earlier]))
    rows = _rows(table)
    # photo went at classify: photo-2 is now the kept one, photo-3 its duplicate
    assert rows == {
        "in-0/2": (None, None, "sem-in-0/2", None),
        "in-0/4": ("semantic-duplicate", "photo-2", "sem-in-0/2", pytest.approx(0.9791, abs=1e-3)),
    }


@pytest.mark.parametrize(
    "sets,until", [([], "all"), (ON, "dedup"), (ON, "ingest")], ids=["off", "dedup", "ingest"]
)
def test_off_decides_nothing(tmp_path, sets, until):
    layout = _setup(tmp_path)
    table = SemanticDedup().run(StepContext(load_config(None, sets), layout, until=until))
    assert table.num_rows == 0 and "semantic_sim" in table.column_names


def test_config_keys_and_validation():
    cfg = load_config(None, ["dedup.semantic.enabled=true", "dedup.semantic.threshold=0.9"])
    assert cfg.dedup.semantic.enabled and cfg.dedup.semantic.threshold == 0.9
    assert not load_config().dedup.semantic.enabled  # off by default
    with pytest.raises(ValueError, match="dedup.semantic.threshold"):
        load_config(None, ["dedup.semantic.threshold=1.5"])


def test_an_unfinished_vector_batch_is_not_read(tmp_path):
    layout = _setup(tmp_path)
    tmp = layout.work / "embeddings" / "batch-2.tmp"
    tmp.mkdir()
    pq.write_table(
        pa.table({"uid": ["in-0/1"], "embedding": [_unit(1, 0, 0)]}), tmp / "part-00000.parquet"
    )  # a kill mid-write leaves it; the next run removes it (pipelines.interrupt)
    files = Classify.embedding_files(StepContext(load_config(), layout))
    assert [p.parent.name for p in files] == ["batch-1"]
