"""Training mixtures: a recipe (token budget, per-source shares, epoch caps) -> a plan.

A source is a finished primer output (``OUT/corpus.duckdb`` + ``OUT/corpus/``),
optionally narrowed by a SQL ``where`` over its ledger's ``documents``. The plan
says which documents go into the mixture how many times: whole passes over the
source, then a seeded subset of one more pass filling the source's remaining
token budget. Every choice comes from md5 of (seed, source, uid, ...), so the
same recipe over the same runs gives the same plan on any machine.

The plan is a DuckDB table (spills to disk, never a Python list of documents);
``pipelines.mix_shuffle`` turns it into shuffled shards.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from corpus.config_base import Section
from pipelines.config import ConfigError

MAX_COPIES = 64  # copies of one document per pass at most (edu_weights)


class MixSource(Section):
    name: str = Field(description="source name; each output document gets metadata.mix_source")
    run: str = Field(description="a finished primer output directory (has corpus.duckdb)")
    where: str | None = Field(
        None, description="SQL over the run's `documents` (kept ones), e.g. edu_score >= 3"
    )
    share: float | None = Field(None, gt=0, le=1, description="share of total_tokens")
    weight: float | None = Field(None, gt=0, description="instead of share: relative weight")
    max_epochs: float = Field(1.0, gt=0, description="passes over the source at most")
    edu_weights: dict[int, float] | None = Field(
        None, description="copies per pass by rounded edu_score, e.g. {5: 3, 3: 1}; default 1"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v):
            raise ValueError("name must be 1-64 of A-Z a-z 0-9 _ . -")
        return v

    @field_validator("edu_weights")
    @classmethod
    def _weights(cls, v: dict[int, float] | None) -> dict[int, float] | None:
        if v is not None and any(not 0 <= w <= MAX_COPIES for w in v.values()):
            raise ValueError(f"edu_weights must be between 0 and {MAX_COPIES}")
        return v


class Recipe(Section):
    total_tokens: int = Field(gt=0, description="token budget of the whole mixture")
    seed: int = Field(0, description="seeds every sampling and shuffling choice")
    docs_per_part: int = Field(50_000, ge=1, description="documents per output shard (about)")
    edu_weights: dict[int, float] | None = Field(
        None, description="default edu_weights of every source"
    )
    sources: list[MixSource] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares(self) -> Recipe:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("source names must be unique")
        with_share = [s.share is not None for s in self.sources]
        with_weight = [s.weight is not None for s in self.sources]
        if any(a == b for a, b in zip(with_share, with_weight, strict=True)):
            raise ValueError("each source needs exactly one of share or weight")
        if all(with_share) and abs(sum(s.share for s in self.sources) - 1) > 1e-6:
            raise ValueError("shares must sum to 1 (or give weights instead)")
        if any(with_share) and not all(with_share):
            raise ValueError("use shares for all sources or weights for all")
        return self

    def shares(self) -> list[float]:
        if self.sources[0].share is not None:
            return [float(s.share) for s in self.sources]
        total = sum(s.weight for s in self.sources)
        return [s.weight / total for s in self.sources]


def load_recipe(path: str | Path) -> tuple[Recipe, str]:
    """The validated recipe and the sha256 of its file; errors name the key in one line."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"recipe error: {p}: no such file")
    raw = p.read_bytes()
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"recipe error: {p}: invalid YAML: {e}".replace("\n", " ")) from e
    if not isinstance(data, dict):
        raise ConfigError(f"recipe error: {p}: top level must be a mapping")
    try:
        return Recipe.model_validate(data), hashlib.sha256(raw).hexdigest()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"recipe error: {where}: {first['msg']}") from e


def resolve_run(run: str, recipe_dir: Path) -> Path:
    """A run path as given (relative to the current directory), else relative to the recipe."""
    for cand in (Path(run), recipe_dir / run):
        if (cand / "corpus.duckdb").is_file():
            return cand.resolve()
    raise FileNotFoundError(f"source run {run!r}: no corpus.duckdb (is it a finished primer run?)")


@dataclass
class SourcePlan:
    name: str
    run: str
    where: str | None
    share: float
    target_tokens: int
    available_tokens: int  # one weighted pass
    available_documents: int
    max_epochs: float
    passes_needed: float
    planned_tokens: int  # min(target, max_epochs * available)
    full_passes: int
    capped: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _u(key: str) -> str:
    """SQL: a uniform [0, 1) number from a ``_key`` (a 64-bit md5 number)."""
    return f"({key}::DOUBLE / 18446744073709551616.0)"


def _key(seed: int, name: str, *parts: str) -> str:
    """SQL: 64 bits of md5 over seed, source and ``parts`` (stable across DuckDB versions)."""
    fields = " || '|' || ".join([f"'{seed}'", f"'{name}'", *parts])
    return f"md5_number_lower({fields})"


def _copies_sql(weights: dict[int, float] | None, seed: int, name: str) -> str:
    """Copies per pass: floor(w) + 1 with probability frac(w), seeded per document."""
    if not weights:
        return "1"
    cases = " ".join(f"WHEN {int(k)} THEN {float(w)!r}" for k, w in sorted(weights.items()))
    w = f"(CASE edu_int {cases} ELSE 1.0 END)"
    frac = f"{w} - floor({w})"
    u = _u(_key(seed, name, "uid", "'w'"))
    return f"(floor({w}) + CASE WHEN {u} < {frac} THEN 1 ELSE 0 END)::INTEGER"


def select_source(
    con: duckdb.DuckDBPyConnection, recipe: Recipe, index: int, run: Path, table: str
) -> None:
    """``table``: the source's documents (uid, id, shard, line, n_tokens, edu_score, copies).

    ``line`` is the document's line in its corpus shard: the writer orders kept
    documents by (source_file, position), so the row number over that order is it.
    """
    src = recipe.sources[index]
    alias = f"src{index}"
    con.execute(f"ATTACH '{run / 'corpus.duckdb'}' AS {alias} (READ_ONLY)")
    where = f"({src.where})" if src.where else "true"
    weights = src.edu_weights if src.edu_weights is not None else recipe.edu_weights
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TABLE {table} AS
            WITH k AS (
              SELECT *, row_number() OVER (PARTITION BY shard ORDER BY source_file, position) - 1
                        AS mix_line
              FROM {alias}.documents WHERE kept)
            SELECT uid, id, shard, mix_line AS line, n_tokens::BIGINT AS n_tokens, edu_score,
                   {_copies_sql(weights, recipe.seed, src.name)} AS copies
            FROM k WHERE {where} AND n_tokens > 0
            """
        )
    except duckdb.Error as e:
        msg = str(e).splitlines()[0]
        raise ValueError(f"source {src.name}: bad where {src.where!r}: {msg}") from e
    finally:
        con.execute(f"DETACH {alias}")


def plan_source(
    con: duckdb.DuckDBPyConnection, recipe: Recipe, index: int, run: Path, table: str
) -> SourcePlan:
    src = recipe.sources[index]
    share = recipe.shares()[index]
    select_source(con, recipe, index, run, table)
    n_docs, avail = con.execute(
        f"SELECT count(*), coalesce(sum(copies * n_tokens), 0) FROM {table}"
    ).fetchone()
    if avail == 0:
        raise ValueError(f"source {src.name}: selects no tokens from {run}")
    target = round(recipe.total_tokens * share)
    planned = min(target, math.floor(src.max_epochs * avail))
    return SourcePlan(
        name=src.name,
        run=str(run),
        where=src.where,
        share=share,
        target_tokens=target,
        available_tokens=int(avail),
        available_documents=int(n_docs),
        max_epochs=src.max_epochs,
        passes_needed=target / avail,
        planned_tokens=int(planned),
        full_passes=int(planned // avail),
        capped=planned < target,
    )


def build_entries(
    con: duckdb.DuckDBPyConnection, recipe: Recipe, sp: SourcePlan, table: str, out: str
) -> None:
    """Append the source's mixture entries to table ``out``: whole passes, then a partial one.

    The partial pass walks the source's copies in seeded order and takes each that
    still fits the remaining budget (a prefix, then first-fit), plus one small copy when
    overshooting lands closer, so a source lands within half a small document of its
    target, streaming (Arrow batches).
    """
    name, seed = sp.name, recipe.seed
    cols = "uid, id, shard, line, n_tokens, edu_score"
    key = _key(seed, name, "uid", "epoch::VARCHAR", "copy::VARCHAR")
    if sp.full_passes:
        con.execute(
            f"""INSERT INTO {out}
            SELECT '{name}' AS source, {cols}, epoch, copy, {key} AS key FROM (
              SELECT {cols}, e.epoch, c.copy FROM {table}
              CROSS JOIN range({sp.full_passes}) e(epoch)
              JOIN range({MAX_COPIES}) c(copy) ON c.copy < copies)"""
        )
    gap = sp.planned_tokens - sp.full_passes * sp.available_tokens
    if gap <= 0:
        return
    order = _key(seed, name, "uid", "copy::VARCHAR", "'partial'")
    cur = con.cursor()  # its own connection: the reader stays open while we insert
    reader = cur.sql(
        f"""SELECT uid, copy, n_tokens FROM {table}
            JOIN range({MAX_COPIES}) c(copy) ON c.copy < copies
            ORDER BY {order}, uid, copy"""
    ).to_arrow_reader(65536)
    chosen_uid: list[str] = []
    chosen_copy: list[int] = []
    smallest: tuple[int, str, int] | None = None  # the smallest copy that did not fit
    tol = recipe.total_tokens * 1e-5  # close enough: stop scanning
    for batch in reader:
        uids, copies, toks = (batch.column(i).to_pylist() for i in range(3))
        for uid, copy, n in zip(uids, copies, toks, strict=True):
            if n <= gap:
                chosen_uid.append(uid)
                chosen_copy.append(copy)
                gap -= n
            elif smallest is None or n < smallest[0]:
                smallest = (n, uid, copy)
        if gap <= tol:
            break
    # overshoot by a small document when that lands closer than stopping short (cap permitting)
    if smallest is not None and smallest[0] - gap < gap and not sp.capped:
        chosen_uid.append(smallest[1])
        chosen_copy.append(smallest[2])
    reader.close()
    cur.close()
    con.register("picked", pa.table({"uid": chosen_uid, "copy": pa.array(chosen_copy, pa.int64())}))
    con.execute(
        f"""INSERT INTO {out}
        SELECT '{name}' AS source, {cols}, epoch, copy, {key} AS key FROM (
          SELECT {cols}, {sp.full_passes}::BIGINT AS epoch, p.copy FROM {table}
          JOIN picked p USING (uid))"""
    )
    con.unregister("picked")


ENTRIES_DDL = """CREATE OR REPLACE TABLE entries (
  source VARCHAR, uid VARCHAR, id VARCHAR, shard VARCHAR, line BIGINT, n_tokens BIGINT,
  edu_score DOUBLE, epoch BIGINT, copy BIGINT, key UBIGINT)"""


def make_plan(
    recipe: Recipe, recipe_dir: Path, temp_dir: Path | None = None, entries: bool = True
) -> tuple[list[SourcePlan], duckdb.DuckDBPyConnection]:
    """Plan every source; with ``entries`` also fill the ``entries`` table (one row per copy)."""
    con = duckdb.connect()
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(ENTRIES_DDL)
    plans = []
    for i, src in enumerate(recipe.sources):
        run = resolve_run(src.run, recipe_dir)
        table = f"sel_{i}"
        sp = plan_source(con, recipe, i, run, table)
        if entries:
            build_entries(con, recipe, sp, table, "entries")
        con.execute(f"DROP TABLE {table}")
        plans.append(sp)
    return plans, con


def plan_fingerprint(recipe: Recipe, plans: list[SourcePlan]) -> str:
    """Changes when the recipe or any source ledger changes: a stale mix is redone."""
    stamps = []
    for sp in plans:
        st = (Path(sp.run) / "corpus.duckdb").stat()
        stamps.append([sp.run, st.st_size, st.st_mtime_ns])
    blob = json.dumps([recipe.model_dump(mode="json"), stamps], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def format_plan(plans: list[SourcePlan], total: int) -> str:
    rows = [("source", "target", "available/pass", "passes", "max_epochs", "planned", "note")]
    for sp in plans:
        rows.append(
            (
                sp.name,
                f"{sp.target_tokens:,}",
                f"{sp.available_tokens:,}",
                f"{sp.planned_tokens / sp.available_tokens:.3f}",
                f"{sp.max_epochs:g}",
                f"{sp.planned_tokens:,}",
                f"capped (needs {sp.passes_needed:.2f} passes)" if sp.capped else "",
            )
        )
    planned = sum(sp.planned_tokens for sp in plans)
    rows.append(("total", f"{total:,}", "", "", "", f"{planned:,}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
