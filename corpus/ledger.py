"""The DuckDB ledger: one ``documents`` row per input document, ``runs``, ``rejects``.

All statistics are SQL over these tables (``funnel``, ``token_yield`` views);
nothing is counted twice in Python. Decisions come from Parquet files the
stages wrote (``pipelines.layout``); ``decisions_sql`` joins them, and both
the corpus writer and the ``documents`` table read that one query, so the
corpus and the ledger cannot disagree.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipelines.layout import Layout

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR PRIMARY KEY, started TIMESTAMP, finished TIMESTAMP, status VARCHAR,
  command VARCHAR, config JSON, versions JSON, counts JSON
)"""

# Funnel order; stages not listed here (new ones) are appended after these.
FUNNEL_STAGES = (
    "read", "langid", "quality", "decontam", "pii", "toxicity", "exact-dedup", "near-dedup",
    "classify",
)  # fmt: skip

# First stage that dropped a document wins; later global stages only see survivors.
_EMPTY = {
    "exact": "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS duplicate_of WHERE false",
    "near": "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS duplicate_of, NULL::VARCHAR AS dup_cluster WHERE false",
    "clusters": "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS dup_cluster WHERE false",
    "edu": "SELECT NULL::VARCHAR AS uid, NULL::DOUBLE AS edu_score, NULL::INTEGER AS edu_int WHERE false",
    "shards": "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS shard WHERE false",
}


def _source(files: list[Path], columns: str, key: str) -> str:
    existing = [str(f) for f in files if f.exists()]
    if not existing:
        return _EMPTY[key]
    return f"SELECT {columns} FROM read_parquet({existing!r}, union_by_name = true)"


def _glob(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern)) if root.is_dir() else []


def decisions_sql(layout: Layout, min_edu: float | None, with_text: bool = False) -> str:
    """SELECT over every ingested document with its final decision.

    ``min_edu`` None means the classify stage did not run (no ``low-edu`` drops).
    """
    work = layout.work
    docs = _glob(work / "docs", "*/*.parquet")
    if not docs:
        raise FileNotFoundError(f"nothing ingested under {work}")
    exact = _source([work / "exact.parquet"], "uid, duplicate_of", "exact")
    near = _source([work / "near" / "near_dups.parquet"], "uid, duplicate_of, dup_cluster", "near")
    clusters = _source([work / "near" / "clusters.parquet"], "uid, dup_cluster", "clusters")
    edu = _source(_glob(work / "edu", "*/*.parquet"), "uid, edu_score, edu_int", "edu")
    low_edu = "false" if min_edu is None else f"e.edu_score < {float(min_edu)!r}"
    text = "" if with_text else "text,"
    return f"""
      WITH d AS (SELECT * FROM read_parquet({[str(p) for p in docs]!r}, union_by_name = true)),
           ex AS ({exact}), nd AS ({near}), cl AS ({clusters}), e AS ({edu})
      SELECT d.* EXCLUDE ({text} drop_stage, drop_reason),
             -- what a person needs to recognise a document in a query result
             left(trim(split_part(ltrim(d.text, E' \t\r\n'), E'\n', 1)), 120) AS first_line,
             e.edu_score, e.edu_int,
             cl.dup_cluster,
             coalesce(ex.duplicate_of, nd.duplicate_of) AS duplicate_of,
             CASE WHEN d.drop_reason IS NOT NULL THEN d.drop_stage
                  WHEN ex.uid IS NOT NULL THEN 'exact-dedup'
                  WHEN nd.uid IS NOT NULL THEN 'near-dedup'
                  WHEN {low_edu} THEN 'classify' END AS drop_stage,
             CASE WHEN d.drop_reason IS NOT NULL THEN d.drop_reason
                  WHEN ex.uid IS NOT NULL THEN 'exact-duplicate'
                  WHEN nd.uid IS NOT NULL THEN 'near-duplicate'
                  WHEN {low_edu} THEN 'low-edu' END AS drop_reason
      FROM d
      LEFT JOIN ex USING (uid) LEFT JOIN nd USING (uid)
      LEFT JOIN cl USING (uid) LEFT JOIN e USING (uid)
    """


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise FileNotFoundError(f"no ledger at {path} (run `primer run` first)")
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        con.execute(RUNS_DDL)
    return con


# The funnel as printed: a stage that did not run says "off", not "0".
FUNNEL_DISPLAY_SQL = (
    "SELECT stage, CASE WHEN ran THEN dropped::VARCHAR ELSE 'off' END AS dropped, remaining "
    "FROM funnel ORDER BY ord"
)


def build_index(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    min_edu: float | None,
    shard_map_file: Path,
    off: list[str] | None = None,
) -> None:
    """(Re)create ``documents``, ``rejects`` and the views from the run's Parquet files.

    ``off`` names the funnel stages that did not run (``stage_status``); None keeps
    what an earlier build recorded (``primer index`` rebuilds without a config).
    """
    shard_map = _source([shard_map_file], "uid, shard", "shards")
    con.execute("BEGIN")
    con.execute("CREATE TABLE IF NOT EXISTS stage_status (stage VARCHAR PRIMARY KEY, ran BOOLEAN)")
    if off is not None:
        con.execute("DELETE FROM stage_status")
        con.executemany(
            "INSERT INTO stage_status VALUES (?, ?)", [[s, s not in off] for s in FUNNEL_STAGES]
        )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE documents AS
        WITH dec AS ({decisions_sql(layout, min_edu)}), s AS ({shard_map})
        SELECT dec.* EXCLUDE (drop_stage, drop_reason),
               dec.drop_reason IS NULL AS kept, dec.drop_stage, dec.drop_reason, s.shard
        FROM dec LEFT JOIN s USING (uid)
        ORDER BY dec.source_file, dec.position
        """
    )
    rejects = _glob(layout.work / "rejects", "*.parquet")
    rej_src = (
        f"SELECT * FROM read_parquet({[str(p) for p in rejects]!r})"
        if rejects
        else "SELECT NULL::VARCHAR source_file, NULL::BIGINT position, NULL::VARCHAR error WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TABLE rejects AS {rej_src} ORDER BY source_file, position")
    markers = _glob(layout.work / "done", "*.json")
    if markers:  # one row per finished input shard: docs, seconds, the Ray node that ran it
        con.execute(
            "CREATE OR REPLACE TABLE ingest_shards AS SELECT * FROM "
            f"read_json_auto({[str(p) for p in markers]!r}, union_by_name = true) ORDER BY path"
        )
    gates = sorted((layout.out / "synth-work" / "gates").glob("*.jsonl"))
    if gates:  # every generation and its synth-gate decision (kept ones are also documents)
        con.execute(
            "CREATE OR REPLACE TABLE synth_generations AS "
            f"SELECT * FROM read_json_auto({[str(p) for p in gates]!r}, union_by_name = true)"
        )
    stages = list(FUNNEL_STAGES)
    if con.execute("SELECT count(*) FROM documents WHERE drop_stage = 'code'").fetchone()[0]:
        stages.insert(stages.index("quality") + 1, "code")  # code profile's filters
    known = ", ".join(f"({i}, '{name}')" for i, name in enumerate(stages, 1))
    con.execute(
        f"""
        CREATE OR REPLACE VIEW funnel AS
        WITH dropped AS (SELECT drop_stage AS stage, count(*) AS n FROM documents
                         WHERE NOT kept GROUP BY 1),
             known(ord, stage) AS (VALUES {known}),
             st AS (SELECT * FROM known UNION ALL
                    SELECT 100 + row_number() OVER (ORDER BY stage), stage FROM dropped
                    WHERE stage NOT IN (SELECT stage FROM known))
        SELECT st.ord, st.stage, coalesce(dropped.n, 0) AS dropped,
               (SELECT count(*) FROM documents)
                 - sum(coalesce(dropped.n, 0)) OVER (ORDER BY st.ord) AS remaining,
               coalesce(ss.ran, true) OR coalesce(dropped.n, 0) > 0 AS ran
        FROM st LEFT JOIN dropped USING (stage) LEFT JOIN stage_status ss USING (stage)
        ORDER BY st.ord
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW token_yield AS
        WITH t(threshold) AS (SELECT unnest(range(0, 51, 5)) / 10.0),
             reached AS (SELECT edu_score, n_tokens FROM documents
                         WHERE edu_score IS NOT NULL
                           AND (kept OR drop_stage = 'classify'))
        SELECT t.threshold,
               count(r.edu_score) AS documents,
               coalesce(sum(r.n_tokens), 0) AS tokens
        FROM t LEFT JOIN reached r ON r.edu_score >= t.threshold
        GROUP BY t.threshold ORDER BY t.threshold
        """
    )
    con.execute(
        """
        CREATE OR REPLACE VIEW clusters AS
        SELECT dup_cluster, count(*) AS size,
               list({'id': id, 'kept': kept, 'duplicate_of': duplicate_of, 'first_line': first_line}
                    ORDER BY kept DESC, source_file, position) AS members
        FROM documents WHERE dup_cluster IS NOT NULL GROUP BY dup_cluster
        """
    )
    con.execute("COMMIT")


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, command: str, config: dict, versions: dict
) -> None:
    con.execute(
        "INSERT INTO runs VALUES (?, ?, NULL, 'running', ?, ?, ?, NULL)",
        [
            run_id,
            datetime.now(UTC).replace(tzinfo=None),
            command,
            json.dumps(config),
            json.dumps(versions),
        ],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: str, status: str, counts: dict[str, Any]
) -> None:
    con.execute(
        "UPDATE runs SET finished = ?, status = ?, counts = ? WHERE run_id = ?",
        [datetime.now(UTC).replace(tzinfo=None), status, json.dumps(counts), run_id],
    )


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Runs still ``running`` belong to a driver that was killed: mark them ``interrupted``.

    Called when a new run starts on the same output (one run per output at a time).
    """
    stale = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
    if stale:
        con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
    return int(stale)
