"""The global-step contract: read the surviving documents, return a decision table.

A global step sees every shard's documents that are still alive after ingest and the
steps before it, and answers with one Arrow table: ``uid, drop_stage, drop_reason,
duplicate_of, dup_cluster`` plus the columns it measured (``edu_score``, ``shard``...),
for every document it has something to say about. The runner writes it to
``work/decisions/NN-<name>.parquet``; the ledger combines ingest's per-document
decisions with these tables in step order (first drop wins), with no per-step SQL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus import ledger
from corpus.ledger import DECISION_COLUMNS
from pipelines.config import PipelineConfig
from pipelines.layout import Layout


@dataclass
class StepContext:
    """What a step may read: the config, the run's files and the decisions before it."""

    config: PipelineConfig
    layout: Layout
    until: str = "all"
    against: list[str] = field(default_factory=list)
    earlier: list[Path] = field(default_factory=list)  # decision tables of the steps before
    prepared: dict[str, Future] = field(default_factory=dict)  # ``Step.prepare``'s, by step

    def survivors_sql(self, columns: str) -> str:
        """SELECT ``columns`` of the documents no earlier decision dropped (DuckDB reads
        only the Parquet columns the query uses)."""
        dec = ledger.decisions_sql(self.layout.docs_files(), self.earlier, with_text=True)
        return f"SELECT {columns} FROM ({dec}) WHERE drop_reason IS NULL"

    def doc_columns(self) -> set[str]:
        """Columns of the ingest Parquet (they vary: filters off, older outputs)."""
        files = [str(p) for p in self.layout.docs_files()]
        con = duckdb.connect()
        try:
            sql = f"DESCRIBE SELECT * FROM read_parquet({files!r}, union_by_name = true)"
            return {r[0] for r in con.execute(sql).fetchall()}
        finally:
            con.close()

    def survivor_uids(self, where: str = "true") -> pa.Array:
        con = duckdb.connect()
        try:
            sql = self.survivors_sql("uid") + f" AND ({where})"
            return con.sql(sql).to_arrow_table().column("uid").combine_chunks()
        finally:
            con.close()

    def ray_init(self) -> None:
        from pipelines import ray_backend as rb
        from pipelines.progress import VERBOSE, level

        rb.init(
            self.config.ray.address,
            self.config.ray.num_cpus,
            progress=self.config.ray.progress or level() >= VERBOSE,
            verbose=level() >= VERBOSE,
            local=self.config.ray.mode == "local",
        )


class Step:
    """One global step. Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]  # file name of its decision table
    stages: ClassVar[tuple[str, ...]] = ()  # funnel stages (drop_stage values) it owns
    reads: ClassVar[tuple[str, ...]] = ()  # ingest columns it reads
    measured: ClassVar[pa.Schema] = pa.schema([])  # columns it adds besides the decision

    def run(self, ctx: StepContext) -> pa.Table:
        raise NotImplementedError

    def prepare(self, ctx: StepContext) -> None:
        """Called for every step before the first one runs: start set-up that needs no
        earlier step's decisions (loading a model) with ``in_background`` into
        ``ctx.prepared[self.name]``, for ``run`` to collect. Nothing by default."""

    def empty(self) -> pa.Table:
        """The decision table of a step that did not run or found nothing."""
        return decision_table(self, {"uid": []})


def in_background(fn: Callable[[], object]) -> Future:
    """``fn()`` in a daemon thread (a run that fails meanwhile does not wait for it)."""
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(fn())
        except BaseException as e:  # re-raised by future.result() in the step
            future.set_exception(e)

    threading.Thread(target=work, name="primer-background", daemon=True).start()
    return future


_DECISION_SCHEMA = pa.schema([(c, pa.string()) for c in DECISION_COLUMNS])


def decision_table(step: Step | type[Step], columns: dict[str, Sequence | pa.Array]) -> pa.Table:
    """A table with the decision columns (missing ones null) and ``step.measured``, typed."""
    n = len(columns["uid"])
    schema = pa.schema([*_DECISION_SCHEMA, *step.measured])
    arrays = []
    for f in schema:
        value = columns.get(f.name)
        if value is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arrays.append(pc.cast(value, f.type))
        else:
            arrays.append(pa.array(value, f.type))
    extra = set(columns) - set(schema.names)
    if extra:
        raise ValueError(f"step {step.name}: undeclared column(s) {sorted(extra)}")
    return pa.Table.from_arrays(arrays, schema=schema)


def write_decisions(table: pa.Table, path: Path) -> None:
    """Temp file + rename, like every write of a run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def uid_filter(uids: pa.Array):
    """A picklable table -> table function keeping the rows whose uid is in ``uids``.

    Steps read the ingest Parquet itself (only the columns they need) and drop what
    earlier decisions removed on the fly: no copy of the text is written in between.
    """
    return _KeepUids(uids)


class _KeepUids:
    """``pc.is_in`` hashes its whole value set on every call (7 ms for 60k uids, per
    512-row batch): a Python set, built once per process (never pickled), is looked up
    instead, ~100x faster on the step's many small tables."""

    def __init__(self, uids: pa.Array):
        self.uids = uids
        self._set: set[str] | None = None

    def __getstate__(self) -> dict:
        return {"uids": self.uids, "_set": None}

    def __call__(self, table: pa.Table) -> pa.Table:
        if self._set is None:
            self._set = set(self.uids.to_pylist())
        keep = self._set.__contains__
        return table.filter(pa.array(list(map(keep, table.column("uid").to_pylist())), pa.bool_()))
