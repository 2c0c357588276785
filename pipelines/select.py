"""Re-threshold a finished run on its stored edu scores, without running any model.

The destination is a new directory, never the source or a folder inside or
around it: writing there would replace the run's own corpus and ledger, after
which ``primer run`` with the original config reports "up to date" and serves
the wrong threshold. The source must be a finished run whose kept documents all
have an edu score (else unscored documents would pass any threshold). Every
select is a row in the destination ledger's ``runs`` table, with the source
run's config at the new threshold.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from corpus import ledger
from pipelines.config import ShardConfig
from pipelines.inspect_output import (
    PartialOutput,
    RunRow,
    connect_sandboxed,
    describe,
    runs,
    tables,
    unfinished_note,
)
from pipelines.layout import Layout
from pipelines.steps import reselect


def check_destination(src: Path, dest: Path) -> None:
    """Refuse a destination equal to, inside or around the source, or another run's output."""
    s, d = src.resolve(), dest.resolve()
    if d == s or s in d.parents:
        raise ValueError(
            f"--output {dest} is the source output {src} or inside it: "
            "select would overwrite the run's own corpus and ledger; choose a new directory"
        )
    if d in s.parents:
        raise ValueError(
            f"--output {dest} contains the source output {src}; choose a new directory"
        )
    if (d / "work").exists():
        raise ValueError(
            f"--output {dest} holds a `primer run` output (work/); choose a new directory"
        )


def source_run(src: Path) -> RunRow:
    """The finished run whose scores are re-thresholded; PartialOutput if there is none."""
    con = connect_sandboxed(src)
    with con:
        note = unfinished_note(con)
        rows = runs(con)
        have = tables(con)
        unscored = (
            con.execute(
                "SELECT count(*) FROM documents WHERE kept AND edu_score IS NULL"
            ).fetchone()[0]
            if "documents" in have
            else None
        )
    if note:
        raise PartialOutput(f"{src}: {note}", describe(src))
    if not rows or unscored is None or not (Layout(src).work / "state.json").is_file():
        raise PartialOutput(f"{src}: not a finished run", describe(src))
    if unscored:
        raise PartialOutput(
            f"{src}: {unscored} kept document(s) have no edu score "
            "(its last run did not classify); run the classify step first",
            describe(src),
        )
    return rows[-1]


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("primer-corpus", "duckdb", "pyarrow"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def select_corpus(
    src: Path, dest: Path, min_edu: float, max_docs: int = 100_000, command: str = "primer select"
) -> tuple[int, int]:
    """Write ``dest/corpus`` and ``dest/corpus.duckdb`` from ``src``'s work files at ``min_edu``."""
    if not (math.isfinite(min_edu) and 0.0 <= min_edu <= 5.0):  # also keeps the SQL a number
        raise ValueError(f"--min-edu {min_edu}: edu scores run from 0 to 5")
    check_destination(src, dest)
    layout = Layout(src)
    if not any((layout.work / "edu").glob("*/*.parquet")):
        raise FileNotFoundError(f"{src}: no stored edu scores (run the classify step first)")
    origin = source_run(src)
    dest.mkdir(parents=True, exist_ok=True)
    config = dict(origin.config)
    config["classify"] = {**config.get("classify", {}), "min_edu_score": min_edu}
    config["select"] = {
        "source": str(src.resolve()),
        "source_run": origin.run_id,
        "max_docs": max_docs,
    }
    run_id = time.strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6]
    db = dest / "corpus.duckdb"
    con = ledger.connect(db)
    ledger.start_run(con, run_id, command, config, _versions())
    con.close()
    status, counts = "failed", {}
    try:
        n, tokens = reselect(layout, dest, min_edu, ShardConfig(max_docs=max_docs))
        status, counts = "ok", {"kept": n, "kept_tokens": tokens, "min_edu": min_edu}
    finally:
        con = ledger.connect(db)
        ledger.finish_run(con, run_id, status, counts)
        con.close()
    return n, tokens
