"""The step contract: typed decision tables, atomic writes, a new step = one class + one line."""

from __future__ import annotations

import pickle

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import steps
from pipelines.config import load_config
from pipelines.layout import Layout
from pipelines.steps.base import Step, StepContext, decision_table, uid_filter, write_decisions
from tests.pipelines.steps.conftest import write_docs


class _Semantic(Step):
    """What the semantic dedup step will look like: drops one survivor, measures a score."""

    name = "semantic-dedup"
    stages = ("semantic-dedup",)
    reads = ("uid", "text")
    measured = pa.schema([("semantic_sim", pa.float64())])

    def run(self, ctx: StepContext) -> pa.Table:
        con = duckdb.connect()
        alive = con.sql(ctx.survivors_sql("uid, text") + " ORDER BY uid").fetchall()
        con.close()
        drop = [u for u, text in alive if "again" in text]
        return decision_table(
            self,
            {
                "uid": drop,
                "drop_stage": ["semantic-dedup"] * len(drop),
                "drop_reason": ["semantic-duplicate"] * len(drop),
                "semantic_sim": [0.97] * len(drop),
            },
        )


def test_decision_table_types_missing_columns_and_refuses_undeclared_ones():
    t = decision_table(_Semantic, {"uid": ["a"], "semantic_sim": [0.5]})
    assert t.schema.names == [
        "uid", "drop_stage", "drop_reason", "duplicate_of", "dup_cluster", "semantic_sim"
    ]  # fmt: skip
    assert (
        t.column("drop_reason").type == pa.string() and t.column("drop_reason")[0].as_py() is None
    )
    with pytest.raises(ValueError, match="undeclared"):
        decision_table(_Semantic, {"uid": ["a"], "edu_score": [1.0]})


def test_write_decisions_is_atomic(tmp_path):
    path = tmp_path / "decisions" / "10-x.parquet"
    write_decisions(_Semantic().empty(), path)
    assert pq.read_table(path).num_rows == 0
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_new_step_is_one_class_and_one_line(tmp_path, monkeypatch):
    layout = Layout(tmp_path / "out")
    write_docs(
        layout,
        [
            {"id": "a", "text": "Plants make sugar from light.", "text_hash": 1},
            {"id": "b", "text": "Plants make sugar from light.", "text_hash": 1},
            {"id": "c", "text": "Plants make sugar from light, again.", "text_hash": 2},
            {"id": "d", "text": "Rocks are made of minerals.", "text_hash": 3},
        ],
    )
    exact, near, classify, write = (steps.STEPS[i] for i in (0, 1, 2, -1))
    monkeypatch.setattr(steps, "STEPS", (exact, near, _Semantic(), classify, write))
    cfg = load_config(None, ["classify.enabled=false", "dedup.enabled=false"])
    tables = steps.run_steps(cfg, layout, until="all")
    assert [t.name for t in tables] == [
        "10-exact-dedup.parquet", "20-near-dedup.parquet", "30-semantic-dedup.parquet",
        "40-classify.parquet", "50-write.parquet",
    ]  # fmt: skip
    steps.build_ledger(layout, steps=tables, off=["near-dedup", "classify"])
    con = duckdb.connect(str(layout.ledger), read_only=True)
    rows = con.execute(
        "SELECT id, kept, drop_stage, drop_reason, semantic_sim, shard IS NOT NULL "
        "FROM documents ORDER BY id"
    ).fetchall()
    funnel = con.execute("SELECT stage, dropped FROM funnel ORDER BY ord").fetchall()
    con.close()
    assert rows == [
        ("a", True, None, None, None, True),
        ("b", False, "exact-dedup", "exact-duplicate", None, False),
        ("c", False, "semantic-dedup", "semantic-duplicate", 0.97, False),
        ("d", True, None, None, None, True),
    ]
    # its funnel row sits in step order, before classify
    assert [s for s, _ in funnel][-4:] == [
        "exact-dedup",
        "near-dedup",
        "semantic-dedup",
        "classify",
    ]
    assert dict(funnel)["semantic-dedup"] == 1


def test_uid_filter_keeps_the_listed_uids_and_pickles_without_its_set():
    keep = uid_filter(pa.array(["a/1", "b/2"]))
    table = pa.table({"uid": ["a/0", "a/1", None, "b/2"], "x": [0, 1, 2, 3]})
    assert keep(table).column("x").to_pylist() == [1, 3]
    assert keep._set == {"a/1", "b/2"}  # built once, on first use
    copy = pickle.loads(pickle.dumps(keep))
    assert copy._set is None and copy(table).column("x").to_pylist() == [1, 3]
    assert keep(table.slice(0, 0)).num_rows == 0


def test_in_background_hands_over_the_result_or_the_error():
    from pipelines.steps.base import in_background

    assert in_background(lambda: 42).result(timeout=10) == 42
    with pytest.raises(ZeroDivisionError):
        in_background(lambda: 1 / 0).result(timeout=10)
