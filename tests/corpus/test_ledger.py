"""The ledger from Parquet files alone: ingest decisions + decision tables, in order."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus import ledger

DECISION = {c: pa.string() for c in ledger.DECISION_COLUMNS}


def _docs(path):
    pq.write_table(
        pa.table(
            {
                "uid": ["u0", "u1", "u2", "u3", "u4"],
                "id": ["a", "b", "c", "d", "e"],
                "source_file": ["/in.jsonl"] * 5,
                "position": [0, 1, 2, 3, 4],
                "text": ["Title a\nbody", "  b", "c", "d", "e"],
                "drop_stage": ["quality", None, None, None, None],
                "drop_reason": ["too-short", None, None, None, None],
                "n_tokens": [1, 2, 3, 4, 5],
            }
        ),
        path,
    )
    return path


def _table(path, rows: list[dict], measured: dict | None = None):
    schema = pa.schema([*DECISION.items(), *(measured or {}).items()])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@pytest.fixture
def files(tmp_path):
    docs = _docs(tmp_path / "docs.parquet")
    first = _table(
        tmp_path / "10-a.parquet",
        [
            # ingest dropped u0 already: ingest's decision wins
            {"uid": "u0", "drop_stage": "a", "drop_reason": "a-dup", "duplicate_of": "x"},
            {"uid": "u1", "drop_stage": "a", "drop_reason": "a-dup", "duplicate_of": "e",
             "dup_cluster": "u4"},
            {"uid": "u4", "dup_cluster": "u4"},  # kept member of a cluster: no drop
        ],
    )  # fmt: skip
    second = _table(
        tmp_path / "20-b.parquet",
        [
            {"uid": "u1", "drop_stage": "b", "drop_reason": "b-low", "score": 0.1},
            {"uid": "u2", "drop_stage": "b", "drop_reason": "b-low", "score": 0.2},
            {"uid": "u3", "score": 0.9},
        ],
        {"score": pa.float64()},
    )
    return docs, [first, second]


def test_first_drop_wins_and_measured_columns_join_by_uid(files):
    import duckdb

    docs, steps = files
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT id, drop_stage, drop_reason, duplicate_of, dup_cluster, score, first_line "
        f"FROM ({ledger.decisions_sql([docs], steps)}) ORDER BY position"
    ).fetchall()
    assert rows == [
        ("a", "quality", "too-short", "x", None, None, "Title a"),
        ("b", "a", "a-dup", "e", "u4", 0.1, "b"),
        ("c", "b", "b-low", None, None, 0.2, "c"),
        ("d", None, None, None, None, 0.9, "d"),
        ("e", None, None, None, "u4", None, "e"),
    ]
    names = [
        d[0] for d in con.execute(f"DESCRIBE {ledger.decisions_sql([docs], steps)}").fetchall()
    ]
    assert "text" not in names
    assert "text" in [
        d[0]
        for d in con.execute(
            f"DESCRIBE {ledger.decisions_sql([docs], steps, with_text=True)}"
        ).fetchall()
    ]


def test_tables_must_be_decision_tables_and_measure_a_column_once(files, tmp_path):
    docs, steps = files
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"uid": ["u1"], "score": [1.0]}), bad)
    with pytest.raises(ValueError, match="not a decision table"):
        ledger.decisions_sql([docs], [bad])
    with pytest.raises(ValueError, match="measured twice"):
        ledger.decisions_sql([docs], [steps[1], steps[1]])
    with pytest.raises(FileNotFoundError):
        ledger.decisions_sql([], steps)


def test_build_index_documents_funnel_rejects_and_stage_order(files, tmp_path):
    docs, steps = files
    rejects = tmp_path / "rejects.parquet"
    pq.write_table(
        pa.table({"source_file": ["/in.jsonl"], "position": [9], "error": ["bad json"]}), rejects
    )
    con = ledger.connect(tmp_path / "corpus.duckdb")
    stages = ("read", "quality", "b", "a")  # the caller's order, not the tables'
    ledger.build_index(con, [docs], steps, [rejects], off=["a"], stages=stages)
    assert con.execute("SELECT count(*), count(*) FILTER (kept) FROM documents").fetchone() == (
        5,
        2,
    )
    funnel = con.execute(
        "SELECT stage, dropped, remaining, ran FROM funnel ORDER BY ord"
    ).fetchall()
    assert funnel == [
        ("read", 0, 5, True),
        ("quality", 1, 4, True),
        ("b", 1, 3, True),
        ("a", 1, 2, True),  # off, but it dropped something: it ran
    ]
    assert con.execute("SELECT error FROM rejects").fetchall() == [("bad json",)]
    assert con.execute("SELECT size FROM clusters").fetchall() == [(2,)]
    # rebuilt without `off` (`primer index`): stage_status is kept
    ledger.build_index(con, [docs], steps[:1], stages=stages)
    assert con.execute("SELECT ran FROM funnel WHERE stage = 'b'").fetchone() == (True,)
    assert "score" not in [d[0] for d in con.execute("DESCRIBE documents").fetchall()]
    con.close()


def test_runs_start_finish_and_interrupted(tmp_path):
    con = ledger.connect(tmp_path / "corpus.duckdb")
    ledger.start_run(con, "r1", "primer run", {"a": 1}, {"duckdb": "x"})
    ledger.start_run(con, "r2", "primer run", {}, {})
    ledger.finish_run(con, "r2", "ok", {"kept": 3})
    assert ledger.mark_interrupted(con) == 1
    assert ledger.mark_interrupted(con) == 0
    rows = con.execute("SELECT run_id, status, counts->>'$.kept' FROM runs ORDER BY 1").fetchall()
    assert rows == [("r1", "interrupted", None), ("r2", "ok", "3")]
    con.close()
    with pytest.raises(FileNotFoundError, match="no ledger"):
        ledger.connect(tmp_path / "missing.duckdb", read_only=True)
