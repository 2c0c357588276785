"""`primer sql`, `stats`, `select` on finished, partial and killed outputs.

The finished output is built by the pipeline's own global steps and ledger from
hand-made work files (ingest Parquet, cached edu scores), so these tests need
neither Ray nor a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpus import ledger
from pipelines.cli import main
from pipelines.config import load_config
from pipelines.layout import Layout, write_json_atomic
from pipelines.steps import build_ledger, reindex, run_steps

N_DOCS = 10
MIN_EDU = 2.5


def _docs_table(n: int) -> pa.Table:
    rows = [
        {
            "uid": f"shard-abc/{i}",
            "id": f"d{i}",
            "source": "a.jsonl",
            "source_file": "/data/a.jsonl",
            "position": i,
            "url": f"https://site{i}.example.org/",
            "domain": f"site{i}.example.org",
            "metadata": "{}",
            "text": f"Document number {i} explains photosynthesis step by step.",
            "drop_stage": "quality" if i == 0 else None,
            "drop_reason": "gopher:too-short" if i == 0 else None,
            "n_chars": 57,
            "n_tokens": 12,
            "lang": "en",
            "lang_score": 0.99,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows)


def make_finished_output(out: Path) -> Path:
    """A finished run: docs, edu scores (doc i scores i/2), corpus, ledger, ok runs row."""
    layout = Layout(out)
    layout.docs_dir("shard-abc").mkdir(parents=True)
    pq.write_table(_docs_table(N_DOCS), layout.docs_dir("shard-abc") / "part-0.parquet")
    edu = layout.work / "edu" / "batch-1"
    edu.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "uid": [f"shard-abc/{i}" for i in range(1, N_DOCS)],
                "edu_score": [i / 2 for i in range(1, N_DOCS)],
                "edu_int": [i // 2 for i in range(1, N_DOCS)],
            }
        ),
        edu / "part-0.parquet",
    )
    sets = [f"classify.min_edu_score={MIN_EDU}", "dedup.enabled=false", "ray.mode=local"]
    build_ledger(layout, steps=run_steps(load_config(None, sets), layout))  # all cached: no model
    con = ledger.connect(layout.ledger)
    config = {"classify": {"min_edu_score": MIN_EDU}, "inputs": ["/data/a.jsonl"]}
    ledger.start_run(con, "20260101T000000-aaaaaa", "primer run", config, {})
    ledger.finish_run(con, "20260101T000000-aaaaaa", "ok", {})
    con.close()
    write_json_atomic(layout.work / "state.json", {"fingerprint": "x"})
    return out


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def finished(tmp_path) -> Path:
    return make_finished_output(tmp_path / "out")


# -- point 3: SQL cannot reach any file but the ledger ------------------------------------

ESCAPES = [
    "COPY documents TO '{leak}'",
    "COPY (SELECT * FROM documents) TO '{leak}' (FORMAT parquet)",
    "EXPORT DATABASE '{leakdir}'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('{outside_parquet}')",
    "SELECT * FROM read_json('{outside_json}')",
    "SELECT * FROM read_json_auto('{outside_json}')",
    "ATTACH '{outside_db}' AS other",
    "ATTACH ':memory:' AS mem; COPY documents TO '{leak}'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_external_access = true",
    "SET lock_configuration = false",
    "RESET lock_configuration",
    "SET allowed_directories = ['/']",
    "SELECT 1; COPY documents TO '{leak}'",
]


@pytest.mark.parametrize("query", ESCAPES)
def test_sql_refuses_file_access_and_setting_escapes(finished, tmp_path, query):
    outside = tmp_path / "outside"
    outside.mkdir()
    pq.write_table(pa.table({"secret": ["p4ss"]}), outside / "s.parquet")
    (outside / "s.json").write_text('{"secret": "p4ss"}\n')
    duckdb.connect(str(outside / "o.duckdb")).close()
    leak = tmp_path / "leak.csv"
    q = query.format(
        leak=leak,
        leakdir=tmp_path / "exported",
        outside_parquet=outside / "s.parquet",
        outside_json=outside / "s.json",
        outside_db=outside / "o.duckdb",
    )
    result = invoke("sql", finished, q)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "p4ss" not in result.output
    assert "root:" not in result.output
    assert "Error:" in result.output
    assert not leak.exists() and not (tmp_path / "exported").exists()
    # The refusal is clear: DuckDB's reason, and what primer sql allows.
    assert any(
        word in result.output for word in ("disabled", "locked", "does not exist", "read-only")
    ), result.output


def test_sql_still_answers_ledger_queries(finished):
    for q in (
        "SELECT count(*) AS n FROM documents WHERE kept",
        "SELECT stage, dropped FROM funnel ORDER BY ord",
        "SELECT * FROM token_yield",
        "SELECT status FROM runs",
        "SELECT count(*) FROM rejects",
    ):
        result = invoke("sql", finished, q)
        assert result.exit_code == 0, (q, result.output)
    kept = invoke(
        "sql", finished, "SELECT count(*) AS n FROM documents WHERE kept", "--format", "json"
    )
    assert json.loads(kept.stdout) == {"n": sum(1 for i in range(1, N_DOCS) if i / 2 >= MIN_EDU)}


def test_sql_csv_lines_end_with_newline_only(finished):
    result = invoke(
        "sql",
        finished,
        "SELECT id, kept FROM documents ORDER BY position LIMIT 2",
        "--format",
        "csv",
    )
    assert result.exit_code == 0
    assert "\r" not in result.stdout
    assert result.stdout == "id,kept\nd0,False\nd1,False\n"


# -- point 4: select never writes into its source, and is recorded --------------------------


@pytest.mark.parametrize("where", [".", "sub", "corpus", ".."])
def test_select_refuses_output_in_or_around_source(finished, where):
    before = tree_bytes(finished)
    dest = (finished / where) if where != ".." else finished.parent
    result = invoke("select", finished, "--min-edu", "1.0", "--output", dest)
    assert result.exit_code == 1, result.output
    assert "choose a new directory" in result.output and "Traceback" not in result.output
    assert tree_bytes(finished) == before  # the run's corpus and ledger are untouched
    assert not (finished / "sub").exists()


def test_select_refuses_another_runs_output(finished, tmp_path):
    other = make_finished_output(tmp_path / "other")
    before = tree_bytes(other)
    result = invoke("select", finished, "--min-edu", "1.0", "--output", other)
    assert result.exit_code == 1 and "primer run" in result.output
    assert tree_bytes(other) == before


def test_select_writes_new_output_and_records_each_select(finished, tmp_path):
    dest = tmp_path / "sel"
    for min_edu in ("1.0", "3.5"):
        result = invoke("select", finished, "--min-edu", min_edu, "--output", dest)
        assert result.exit_code == 0, result.output
    con = duckdb.connect(str(dest / "corpus.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT status, command, config->>'$.classify.min_edu_score', config->>'$.select.source',"
        " config->>'$.select.source_run', counts->>'$.kept' FROM runs ORDER BY started"
    ).fetchall()
    kept = con.execute("SELECT count(*) FROM documents WHERE kept").fetchone()[0]
    con.close()
    assert [r[0] for r in rows] == ["ok", "ok"]
    assert [float(r[2]) for r in rows] == [1.0, 3.5]
    assert {r[3] for r in rows} == {str(finished.resolve())}
    assert {r[4] for r in rows} == {"20260101T000000-aaaaaa"}
    expected = sum(1 for i in range(1, N_DOCS) if i / 2 >= 3.5)
    assert kept == expected and int(rows[-1][5]) == expected


def test_select_rejects_out_of_range_threshold(finished, tmp_path):
    result = invoke("select", finished, "--min-edu", "nan", "--output", tmp_path / "x")
    assert result.exit_code != 0 and not (tmp_path / "x").exists()


# -- point 5: partial and killed outputs say what is there and what is missing -------------


def killed_before_index(out: Path) -> Path:
    """What `kill -9` during the first run's ingest leaves: a ledger with one `running` row."""
    out.mkdir(parents=True)
    con = ledger.connect(out / "corpus.duckdb")
    ledger.start_run(con, "20260101T000000-killed", "primer run", {}, {})
    con.close()
    (out / "work" / "done").mkdir(parents=True)
    (out / "work" / "docs" / "a-123.tmp").mkdir(parents=True)
    return out


def test_stats_on_killed_first_run(tmp_path):
    out = killed_before_index(tmp_path / "out")
    result = invoke("stats", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "never finished indexing" in result.output
    assert "missing: ledger tables/views documents, rejects, funnel" in result.output
    assert "status 'running'" in result.output
    assert "temp dir" in result.output and "missing: corpus/" in result.output


def test_stats_sql_select_without_ledger(tmp_path):
    out = tmp_path / "out"
    (out / "work").mkdir(parents=True)
    for args in (
        ("stats", out),
        ("sql", out, "SELECT 1"),
        ("select", out, "--min-edu", "2", "--output", tmp_path / "sel"),
    ):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
    assert "missing: ledger corpus.duckdb" in invoke("stats", out).output
    assert not (tmp_path / "sel").exists()


def test_sql_on_killed_run_names_what_is_missing(tmp_path):
    out = killed_before_index(tmp_path / "out")
    result = invoke("sql", out, "SELECT count(*) FROM documents")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "documents" in result.output and "missing:" in result.output
    runs = invoke("sql", out, "SELECT status FROM runs")  # what is there still answers
    assert runs.exit_code == 0 and "running" in runs.stdout


def test_stats_after_a_killed_rerun_prints_the_old_numbers_and_fails(finished):
    con = ledger.connect(finished / "corpus.duckdb")
    ledger.start_run(con, "20260102T000000-bbbbbb", "primer run --force", {}, {})
    con.close()
    result = invoke("stats", finished)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "read 10 documents" in result.stdout  # what is there
    assert "20260102T000000-bbbbbb" in result.output and "20260101T000000-aaaaaa" in result.output
    ok = invoke("sql", finished, "SELECT count(*) FROM documents")
    assert ok.exit_code == 0 and "warning: latest run 20260102T000000-bbbbbb" in ok.stderr


def test_select_refuses_killed_or_unscored_source(finished, tmp_path):
    con = ledger.connect(finished / "corpus.duckdb")
    ledger.start_run(con, "20260102T000000-bbbbbb", "primer run", {}, {})
    con.close()
    result = invoke("select", finished, "--min-edu", "2", "--output", tmp_path / "sel")
    assert result.exit_code == 1 and "'running'" in result.output
    assert not (tmp_path / "sel").exists()


def test_select_refuses_source_with_unscored_kept_documents(tmp_path):
    out = make_finished_output(tmp_path / "out")
    for f in (out / "work" / "edu").glob("*/*.parquet"):  # scores of docs 1..4 are missing
        t = pq.read_table(f)
        pq.write_table(t.slice(4), f)
    reindex(Layout(out), MIN_EDU)
    result = invoke("select", out, "--min-edu", "2", "--output", tmp_path / "sel")
    assert result.exit_code == 1 and "no edu score" in result.output
