"""The DuckDB ledger: one ``documents`` row per input document, ``runs``, ``rejects``.

All statistics are SQL over these tables (``funnel``, ``token_yield`` views);
nothing is counted twice in Python. Decisions come from Parquet files: the
per-document decisions of ingest, then one *decision table* per global step
(``uid, drop_stage, drop_reason, duplicate_of, dup_cluster`` + measured columns),
in step order. ``decisions_sql`` combines them generically (first drop wins); the
corpus writer and the ``documents`` table read that one query, so the corpus and
the ledger cannot disagree. The ledger knows files, not the pipeline that wrote them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR PRIMARY KEY, started TIMESTAMP, finished TIMESTAMP, status VARCHAR,
  command VARCHAR, config JSON, versions JSON, counts JSON
);
-- where a run's seconds went: Ray start, ingest, each global step, the ledger
CREATE TABLE IF NOT EXISTS phases (run_id VARCHAR, ord INTEGER, phase VARCHAR, seconds DOUBLE)"""

# Funnel order; stages not listed here (new ones) are appended after these.
FUNNEL_STAGES = (
    "read", "langid", "quality", "decontam", "pii", "toxicity", "exact-dedup", "near-dedup",
    "classify",
)  # fmt: skip

# Every decision table has these columns; any other column is a measured value.
DECISION_COLUMNS = ("uid", "drop_stage", "drop_reason", "duplicate_of", "dup_cluster")


def _files(paths: Sequence[Path]) -> str:
    return repr([str(p) for p in paths])


def _measured(con: duckdb.DuckDBPyConnection, table: Path) -> list[str]:
    cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{table}')").fetchall()
    names = [c[0] for c in cols]
    missing = [c for c in DECISION_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"{table}: not a decision table (no {', '.join(missing)})")
    return [n for n in names if n not in DECISION_COLUMNS]


def decisions_sql(docs: Sequence[Path], steps: Sequence[Path], with_text: bool = False) -> str:
    """SELECT over every ingested document with its final decision.

    ``docs``: the ingest Parquet files (every document, its per-document decision);
    ``steps``: decision tables in step order. A document's decision is the first drop:
    ingest's, else the first step table that drops it. ``duplicate_of`` and
    ``dup_cluster`` come from the first table that has one; measured columns are
    joined by name (two tables measuring one column is an error).
    """
    if not docs:
        raise FileNotFoundError("nothing ingested (no documents Parquet)")
    con = duckdb.connect()
    try:
        measured = [_measured(con, t) for t in steps]
    finally:
        con.close()
    seen: set[str] = set()
    for table, cols in zip(steps, measured, strict=True):
        if seen & set(cols):
            raise ValueError(f"{table}: column(s) {sorted(seen & set(cols))} measured twice")
        seen |= set(cols)
    aliases = [f"s{i}" for i in range(len(steps))]
    ctes = "".join(
        f", {a} AS (SELECT * FROM read_parquet('{t}'))" for a, t in zip(aliases, steps, strict=True)
    )
    joins = "".join(f" LEFT JOIN {a} USING (uid)" for a in aliases)
    picks = "".join(f" WHEN {a}.drop_reason IS NOT NULL THEN {a}.{{c}}" for a in aliases)
    decision = {
        c: f"CASE WHEN d.drop_reason IS NOT NULL THEN d.{c}{picks.format(c=c)} END AS {c}"
        for c in ("drop_stage", "drop_reason")
    }

    def first(c: str) -> str:
        return f"coalesce({''.join(f'{a}.{c}, ' for a in aliases)}NULL::VARCHAR) AS {c}"

    values = "".join(f"{a}.{c}, " for a, cols in zip(aliases, measured, strict=True) for c in cols)
    text = "" if with_text else "text,"
    return f"""
      -- ingest's band hashes and student scores: inputs of dedup and classify, not decisions
      WITH d AS (SELECT COLUMNS(lambda c: c NOT IN ('minhash', 'edu_student'))
                 FROM read_parquet({_files(docs)}, union_by_name = true)){ctes}
      SELECT d.* EXCLUDE ({text} drop_stage, drop_reason),
             -- what a person needs to recognise a document in a query result
             left(trim(split_part(ltrim(d.text, E' \t\r\n'), E'\n', 1)), 120) AS first_line,
             {values}{first("dup_cluster")}, {first("duplicate_of")},
             {decision["drop_stage"]}, {decision["drop_reason"]}
      FROM d{joins}
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
    docs: Sequence[Path],
    steps: Sequence[Path],
    rejects: Sequence[Path] = (),
    generations: Sequence[Path] = (),
    shards: Sequence[Path] = (),
    off: list[str] | None = None,
    stages: Sequence[str] = FUNNEL_STAGES,
) -> None:
    """(Re)create ``documents``, ``rejects`` and the views from a run's Parquet files.

    ``docs``/``steps``: see ``decisions_sql``; ``rejects``: unparseable input
    (``source_file, position, error``); ``generations``: synth gate JSONL files;
    ``shards``: ingest's per-shard markers (JSON).
    ``stages``: the funnel order. ``off`` names the funnel stages that did not run
    (``stage_status``); None keeps what an earlier build recorded (``primer index``
    rebuilds without a config).
    """
    con.execute("BEGIN")
    con.execute("CREATE TABLE IF NOT EXISTS stage_status (stage VARCHAR PRIMARY KEY, ran BOOLEAN)")
    if off is not None:
        con.execute("DELETE FROM stage_status")
        con.executemany(
            "INSERT INTO stage_status VALUES (?, ?)", [[s, s not in off] for s in stages]
        )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE documents AS
        WITH dec AS ({decisions_sql(docs, steps)})
        SELECT dec.* EXCLUDE (drop_stage, drop_reason),
               dec.drop_reason IS NULL AS kept, dec.drop_stage, dec.drop_reason
        FROM dec
        ORDER BY dec.source_file, dec.position
        """
    )
    rej_src = (
        f"SELECT * FROM read_parquet({_files(rejects)})"
        if rejects
        else "SELECT NULL::VARCHAR source_file, NULL::BIGINT position, NULL::VARCHAR error WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TABLE rejects AS {rej_src} ORDER BY source_file, position")
    if shards:  # one row per finished input shard (or part): docs, seconds, its Ray node
        con.execute(
            "CREATE OR REPLACE TABLE ingest_shards AS SELECT * FROM "
            f"read_json_auto({_files(shards)}, union_by_name = true) ORDER BY path, key"
        )
    if generations:  # every generation and its synth-gate decision (kept ones are also documents)
        con.execute(
            "CREATE OR REPLACE TABLE synth_generations AS "
            f"SELECT * FROM read_json_auto({_files(generations)}, union_by_name = true)"
        )
    stages = list(stages)
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
    columns = {r[0] for r in con.execute("DESCRIBE documents").fetchall()}
    reached = (  # documents the classifier scored and judged (no classify table: none)
        "SELECT edu_score, n_tokens FROM documents WHERE edu_score IS NOT NULL "
        "AND (kept OR drop_stage = 'classify')"
        if "edu_score" in columns
        else "SELECT NULL::DOUBLE AS edu_score, NULL::BIGINT AS n_tokens WHERE false"
    )
    con.execute(
        f"""
        CREATE OR REPLACE VIEW token_yield AS
        WITH t(threshold) AS (SELECT unnest(range(0, 51, 5)) / 10.0),
             reached AS ({reached})
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
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: dict[str, Any],
    phases: dict[str, float] | None = None,
) -> None:
    con.execute(
        "UPDATE runs SET finished = ?, status = ?, counts = ? WHERE run_id = ?",
        [datetime.now(UTC).replace(tzinfo=None), status, json.dumps(counts), run_id],
    )
    rows = [(run_id, i, k, round(v, 3)) for i, (k, v) in enumerate((phases or {}).items())]
    if rows:
        con.executemany("INSERT INTO phases VALUES (?, ?, ?, ?)", rows)


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    """Runs still ``running`` belong to a driver that was killed: mark them ``interrupted``.

    Called when a new run starts on the same output (one run per output at a time).
    """
    stale = con.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
    if stale:
        con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
    return int(stale)
