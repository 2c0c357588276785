"""Exit status for CI: a run whose input files were mostly junk fails.

Checked after the run, on the ledger it wrote (so the corpus, ``documents`` and
``rejects`` are all there to look at): an input file fails when more than
``max_rate`` of its records are rejects. A file that yields no document and
only rejects has a rate of 1, so it fails at any limit below 1; ``1`` turns the
check off. Measured on every file of ``../shared/data`` and the demo shards
that holds documents: 0 rejects each, so the default 0.5 only trips on real junk.
The verdict is stored in the run's ``counts`` (``reject_check``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from corpus import ledger


class TooManyRejects(ValueError):
    """One line for the user: which files, and where to look."""


@dataclass(frozen=True)
class FileRejects:
    source_file: str
    documents: int
    rejects: int

    @property
    def rate(self) -> float:
        return self.rejects / (self.documents + self.rejects)


def reject_rates(out: Path) -> list[FileRejects]:
    """Every input file of ``out``'s ledger that has rejects, worst first."""
    con = ledger.connect(out / "corpus.duckdb", read_only=True)
    try:
        rows = con.execute(
            """
            WITH r AS (SELECT source_file, count(*) AS n FROM rejects GROUP BY 1),
                 d AS (SELECT source_file, count(*) AS n FROM documents GROUP BY 1)
            SELECT r.source_file, coalesce(d.n, 0), r.n
            FROM r LEFT JOIN d USING (source_file)
            ORDER BY r.n / (r.n + coalesce(d.n, 0)) DESC, r.source_file
            """
        ).fetchall()
    finally:
        con.close()
    return [FileRejects(*row) for row in rows]


def check_reject_rate(out: Path, max_rate: float, run_id: str | None = None) -> None:
    """Raise ``TooManyRejects`` when a file's reject rate is over ``max_rate``;
    record the verdict in the ``runs`` row ``run_id``."""
    bad = [f for f in reject_rates(out) if f.rate > max_rate]
    if run_id is not None:
        con = ledger.connect(out / "corpus.duckdb")
        try:
            (counts,) = con.execute(
                "SELECT counts FROM runs WHERE run_id = ?", [run_id]
            ).fetchone() or (None,)
            merged = json.loads(counts) if counts else {}
            merged["reject_check"] = {
                "max_reject_rate": max_rate,
                "files_over": [f.source_file for f in bad],
            }
            con.execute("UPDATE runs SET counts = ? WHERE run_id = ?", [json.dumps(merged), run_id])
        finally:
            con.close()
    if bad:
        shown = "; ".join(
            f"{Path(f.source_file).name}: {f.documents} documents, {f.rejects} rejects"
            f" ({f.rate:.0%})"
            for f in bad[:5]
        )
        more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise TooManyRejects(
            f"{len(bad)} input file(s) over --max-reject-rate {max_rate:g}: {shown}{more}. "
            f"The corpus and ledger are written; see `primer sql {out} "
            '"SELECT source_file, error, count(*) FROM rejects GROUP BY ALL"`'
        )
