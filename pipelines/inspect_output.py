"""Reading an output directory safely: a sandboxed ledger connection, and what a
partial output holds.

``primer sql`` runs whatever a user types, so its connection is opened with
DuckDB's external access off and the configuration locked: ``COPY ... TO``,
``read_csv('/etc/passwd')``, ``ATTACH``, ``INSTALL``/``LOAD``, ``EXPORT`` and any
``SET``/``PRAGMA`` that would turn access back on all fail. The ledger's tables
and views need no file access (``documents`` is materialised), so nothing a
ledger query needs is lost.

A killed or half-finished run leaves an output without a ledger, with a ledger
but no ``documents``/``funnel`` (killed before the first index), or with a
``runs`` row that never finished. ``describe`` lists what is there and what is
missing, so commands can say it instead of printing a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Applied at connect time; lock_configuration makes every later SET/PRAGMA fail.
SANDBOX = {"enable_external_access": False, "lock_configuration": True}
INDEX_TABLES = ("documents", "rejects", "runs", "funnel", "token_yield", "clusters")
SANDBOX_HINT = (
    "primer sql reads only the ledger: file access, ATTACH, INSTALL/LOAD and settings are disabled"
)


class PartialOutput(Exception):
    """An output that cannot answer: ``str`` is one line, ``details`` what is there/missing."""

    def __init__(self, message: str, details: list[str]):
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class RunRow:
    run_id: str
    status: str
    command: str
    started: object
    config: dict


def ledger_path(out: str | Path) -> Path:
    p = Path(out)
    return p if p.suffix == ".duckdb" else p / "corpus.duckdb"


def connect_sandboxed(out: str | Path) -> duckdb.DuckDBPyConnection:
    """Read-only connection to ``out``'s ledger that can touch no other file."""
    path = ledger_path(out)
    if not path.is_file():
        raise PartialOutput(f"no ledger at {path}", describe(path.parent))
    try:
        return duckdb.connect(str(path), read_only=True, config=dict(SANDBOX))
    except duckdb.Error as e:  # locked by a running writer, or not a DuckDB file
        first = str(e).splitlines()[0]
        raise PartialOutput(f"cannot open {path}: {first}", describe(path.parent)) from e


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def runs(con: duckdb.DuckDBPyConnection) -> list[RunRow]:
    """Every ``runs`` row, oldest first ([] when the table is absent)."""
    if "runs" not in tables(con):
        return []
    rows = con.execute(
        "SELECT run_id, status, command, started, config FROM runs ORDER BY started, run_id"
    ).fetchall()
    return [RunRow(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}) for r in rows]


def unfinished_note(con: duckdb.DuckDBPyConnection) -> str | None:
    """One line when the latest run did not finish ok (killed, failed or still running)."""
    rows = runs(con)
    if not rows or rows[-1].status == "ok":
        return None
    last = rows[-1]
    ok = [r for r in rows if r.status == "ok"]
    since = f"the tables are from run {ok[-1].run_id}" if ok else "no run ever finished"
    return (
        f"latest run {last.run_id} ({last.command!r}, started {last.started}) is "
        f"'{last.status}' (killed, failed or still running): {since}"
    )


def _count(root: Path, pattern: str) -> int:
    return sum(1 for _ in root.glob(pattern)) if root.is_dir() else 0


def describe(out: Path) -> list[str]:
    """What ``out`` holds and what a finished run would have, one fact per line."""
    out = Path(out)
    if not out.is_dir():
        return [f"missing: the directory {out}"]
    present, missing = [], []
    ledger = out / "corpus.duckdb"
    if ledger.is_file():
        try:
            con = duckdb.connect(str(ledger), read_only=True, config=dict(SANDBOX))
        except duckdb.Error as e:
            present.append(f"ledger {ledger.name} (cannot open: {str(e).splitlines()[0]})")
        else:
            with con:
                have = tables(con)
                rows = runs(con)
            present.append(f"ledger {ledger.name} with {', '.join(sorted(have)) or 'no tables'}")
            lost = [t for t in INDEX_TABLES if t not in have]
            if lost:
                missing.append(f"ledger tables/views {', '.join(lost)} (indexing never finished)")
            for r in rows:
                if r.status != "ok":
                    present.append(f"runs row {r.run_id} with status '{r.status}' ({r.command})")
    else:
        missing.append("ledger corpus.duckdb")
    work = out / "work"
    done = _count(work / "done", "*.json")
    if done:
        present.append(f"{done} finished input shard(s) in work/done")
    else:
        missing.append("finished input shards (work/done)")
    tmp = _count(work / "docs", "*.tmp") + _count(work / "edu", "*.tmp")
    if tmp:
        present.append(f"{tmp} temp dir(s) of an interrupted step (removed by the next run)")
    edu = _count(work / "edu", "*/*.parquet")
    if edu:
        present.append(f"{edu} edu-score file(s) in work/edu")
    if work.is_dir() and not (work / "state.json").is_file():
        missing.append("work/state.json (the global steps of the last run did not finish)")
    parts = _count(out / "corpus", "part-*.jsonl.zst")
    if (out / "corpus").is_dir():
        present.append(f"corpus/ with {parts} part(s)")
    else:
        missing.append("corpus/")
    if (out / "corpus.new").exists():
        present.append("corpus.new/ (a corpus write was interrupted)")
    return [f"present: {p}" for p in present] + [f"missing: {m}" for m in missing]
