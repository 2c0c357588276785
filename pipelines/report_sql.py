"""Every query behind ``primer report``, in one place: the page shows each one under its
figure, and the tests run the same text against the ledger to check the page's numbers.

Queries read the ledger's tables and views (``documents``, ``rejects``, ``runs``,
``funnel``, ``token_yield``, ``clusters``). Binning is done here, in SQL, so a bar's
height is a row of a query, not a number the plotting library computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus import ledger

# Deterministic "random" samples: the same ledger always gives the same page.
SAMPLE_SEED = "primer-report"
SAMPLES_PER_GROUP = 5
EXCERPT_CHARS = 300
TOP_RULES = 4
RULE_BINS = 40

SUMMARY = """
SELECT count(*) AS documents,
       count(*) FILTER (kept) AS kept,
       coalesce(sum(n_tokens) FILTER (kept), 0)::BIGINT AS kept_tokens,
       coalesce(sum(n_chars) FILTER (kept), 0)::BIGINT AS kept_chars,
       count(DISTINCT source_file) AS inputs,
       (SELECT count(*) FROM rejects) AS rejects
FROM documents"""

# Tokens are counted after the quality rules: a stage whose survivors include
# uncounted documents gets NULL tokens rather than an undercount.
FUNNEL = """
WITH o AS (SELECT d.n_tokens, coalesce(f.ord, 1000000) AS drop_ord
           FROM documents d LEFT JOIN funnel f ON f.stage = d.drop_stage)
SELECT f.stage, f.dropped, f.remaining AS documents,
       (SELECT CASE WHEN count(*) = count(o.n_tokens) THEN coalesce(sum(o.n_tokens), 0) END
        FROM o WHERE o.drop_ord > f.ord)::BIGINT AS tokens
FROM funnel f ORDER BY f.ord"""

DROP_REASONS = """
SELECT drop_stage AS stage, drop_reason AS reason, count(*) AS documents
FROM documents WHERE NOT kept
GROUP BY ALL ORDER BY documents DESC, stage, reason"""

EDU_HISTOGRAM = """
SELECT floor(edu_score * 4) / 4 AS bin, kept, count(*) AS documents
FROM documents WHERE edu_score IS NOT NULL
GROUP BY ALL ORDER BY bin, kept"""

TOKEN_YIELD = (
    "SELECT threshold, documents, tokens::BIGINT AS tokens FROM token_yield ORDER BY threshold"
)

LANGUAGES = """
SELECT coalesce(lang, '(none)') AS lang,
       count(*) FILTER (kept) AS kept, count(*) FILTER (NOT kept) AS dropped,
       coalesce(sum(n_tokens) FILTER (kept), 0)::BIGINT AS kept_tokens
FROM documents GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 15"""

DOMAINS = """
SELECT coalesce(domain, '(no url)') AS domain,
       sum(n_tokens)::BIGINT AS kept_tokens, count(*) AS kept_documents
FROM documents WHERE kept
GROUP BY 1 ORDER BY kept_tokens DESC, 1 LIMIT 20"""

# `source` is the record's own source (e.g. "synthetic") or else its input file's name.
SOURCES = """
SELECT CASE WHEN source = 'synthetic' THEN 'synthetic' ELSE 'web' END AS kind, source,
       count(*) FILTER (kept) AS kept, count(*) FILTER (NOT kept) AS dropped,
       coalesce(sum(n_tokens) FILTER (kept), 0)::BIGINT AS kept_tokens
FROM documents GROUP BY ALL ORDER BY kept_tokens DESC, count(*) DESC, source"""

# Log-spaced bins, five per decade of characters.
LENGTHS = """
SELECT floor(log10(greatest(n_chars, 1)) * 5) / 5 AS log10_chars, kept, count(*) AS documents
FROM documents WHERE n_chars IS NOT NULL
GROUP BY ALL ORDER BY log10_chars, kept"""

CLUSTER_SIZES = """
SELECT size, count(*) AS clusters, sum(size)::BIGINT AS documents
FROM clusters GROUP BY size ORDER BY size"""

LARGEST_CLUSTERS = """
SELECT dup_cluster, size, members FROM clusters ORDER BY size DESC, dup_cluster LIMIT 5"""

TOP_QUALITY_RULES = f"""
SELECT drop_reason AS rule, count(*) AS documents
FROM documents WHERE drop_stage = 'quality'
GROUP BY 1 ORDER BY documents DESC, rule LIMIT {TOP_RULES}"""

# Bins span the values' range up to the 99th percentile (and the threshold, so the
# cut is always on the plot); larger values fall in the last bin.
RULE_VALUES = """
WITH v AS (SELECT quality['{key}'] AS x, coalesce(drop_reason = '{rule}', false) AS by_rule
           FROM documents WHERE quality['{key}'] IS NOT NULL),
     r AS (SELECT least(min(x), {threshold}) AS lo,
                  greatest(quantile_cont(x, 0.99), {threshold}) AS hi FROM v),
     w AS (SELECT lo, greatest((hi - lo) / {bins}, 1e-9) AS width FROM r)
SELECT w.lo + least(floor((v.x - w.lo) / w.width), {bins} - 1) * w.width AS bin_start,
       w.width, v.by_rule, count(*) AS documents
FROM v, w GROUP BY ALL ORDER BY bin_start, by_rule"""

_RANKED = """
ranked AS (SELECT *, row_number() OVER (PARTITION BY {group}
                                        ORDER BY hash(uid || '{seed}')) AS k
           FROM documents WHERE {where})"""

# {texts} is the run's per-document text (work Parquet) or, when that is gone, an
# empty relation: the excerpt then falls back to the ledger's first line.
SAMPLES_EDU = (
    "WITH t AS ({texts}),"
    + _RANKED.format(group="edu_int", seed=SAMPLE_SEED, where="kept")
    + f"""
SELECT edu_int AS level, round(edu_score, 2) AS edu_score, id, url,
       left(coalesce(t.text, first_line), {EXCERPT_CHARS}) AS excerpt
FROM ranked LEFT JOIN t USING (uid)
WHERE k <= {SAMPLES_PER_GROUP} ORDER BY level DESC NULLS LAST, k"""
)

SAMPLES_DROPPED = (
    "WITH t AS ({texts}),"
    + _RANKED.format(group="drop_stage, drop_reason", seed=SAMPLE_SEED, where="NOT kept")
    + f"""
SELECT drop_stage AS stage, drop_reason AS reason, id, url,
       left(coalesce(t.text, first_line), {EXCERPT_CHARS}) AS excerpt
FROM ranked LEFT JOIN t USING (uid)
WHERE k <= {SAMPLES_PER_GROUP} ORDER BY stage, reason, k"""
)

REJECTS = """
SELECT error, count(*) AS records, count(DISTINCT source_file) AS files
FROM rejects GROUP BY 1 ORDER BY records DESC, error LIMIT 20"""

RUNS = """
SELECT run_id, command, status, started, finished,
       round(epoch(finished - started), 1) AS seconds, versions, counts, config
FROM runs ORDER BY started"""

NO_TEXTS = "SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS text WHERE false"


@dataclass
class Result:
    sql: str
    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


class Run:
    """One finished run's ledger, opened read-only, and the queries over it."""

    def __init__(self, out: Path, label: str | None = None) -> None:
        self.out = Path(out)
        path = self.out if self.out.suffix == ".duckdb" else self.out / "corpus.duckdb"
        self.con = ledger.connect(path, read_only=True)
        self.label = label or self.out.name
        missing = {"documents", "rejects", "runs", "funnel", "token_yield", "clusters"} - {
            r[0]
            for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        if missing:
            self.con.close()
            raise ValueError(f"{path}: not a finished run's ledger (missing {sorted(missing)})")

    def close(self) -> None:
        self.con.close()

    def query(self, sql: str) -> Result:
        rel = self.con.execute(sql)
        return Result(sql.strip(), [d[0] for d in rel.description], rel.fetchall())

    def texts_sql(self) -> str:
        """Where the documents' text is: the work Parquet files the ledger was built from."""
        docs = self.out / "work" / "docs"
        if self.out.suffix == ".duckdb" or not any(docs.glob("*/*.parquet")):
            return NO_TEXTS
        glob = str(docs / "*" / "*.parquet").replace("'", "''")
        return f"SELECT uid, text FROM read_parquet('{glob}', union_by_name = true)"

    def samples(self, template: str) -> Result:
        return self.query(template.replace("{texts}", self.texts_sql()))

    def latest_config(self) -> dict[str, Any]:
        import json

        row = self.con.execute(
            "SELECT config FROM runs WHERE config IS NOT NULL ORDER BY started DESC LIMIT 1"
        ).fetchone()
        return json.loads(row[0]) if row else {}


def rule_values_sql(rule: str, key: str, threshold: float) -> str:
    """RULE_VALUES for one rule; ``rule`` and ``key`` are names from the filter code."""
    for name in (rule, key):
        if not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"not a rule name: {name!r}")
    return RULE_VALUES.format(rule=rule, key=key, threshold=float(threshold), bins=RULE_BINS)
