"""The global steps, in order. A new step is one module and one line in ``STEPS``.

Each step (``base.Step``) reads the documents that survived ingest and the steps before
it, and returns a decision table, written to ``work/decisions/NN-<name>.parquet``. The
ledger (``corpus.ledger``) is built from ingest's Parquet plus these tables, in order.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

from corpus import ledger
from pipelines.config import PipelineConfig, ShardConfig
from pipelines.layout import Layout
from pipelines.steps.base import Step, StepContext, write_decisions
from pipelines.steps.classify import Classify
from pipelines.steps.exact_dedup import ExactDedup
from pipelines.steps.near_dedup import NearDedup
from pipelines.steps.semantic_dedup import SemanticDedup
from pipelines.steps.write import Write, write_corpus

STEPS: tuple[Step, ...] = (
    ExactDedup(),
    NearDedup(),
    Classify(),
    SemanticDedup(),
    Write(),
)

LEDGER_MEMORY_MIB = 512  # DuckDB's memory while building the ledger (it spills beyond)

# The per-document stages of ingest (corpus/stage.py), before every global step.
INGEST_STAGES = ("read", "langid", "quality", "decontam", "pii", "toxicity")


def funnel() -> tuple[str, ...]:
    """The funnel's stage order: ingest's stages, then each step's, in step order."""
    return (*INGEST_STAGES, *(s for step in STEPS for s in step.stages))


def table_path(layout: Layout, index: int, step: Step) -> Path:
    return layout.decisions_dir() / f"{(index + 1) * 10:02d}-{step.name}.parquet"


def decision_tables(layout: Layout) -> list[Path]:
    """The decision tables a run left, in step order (what ``primer index`` rebuilds from)."""
    root = layout.decisions_dir()
    return sorted(root.glob("*.parquet")) if root.is_dir() else []


def run_steps(
    config: PipelineConfig,
    layout: Layout,
    until: str = "all",
    against: list[str] | None = None,
    phases: dict[str, float] | None = None,
) -> list[Path]:
    """Run every global step in order; return the decision tables written. ``phases``
    gets each step's seconds."""
    shutil.rmtree(layout.decisions_dir(), ignore_errors=True)  # a run redoes all of them
    ctx = StepContext(config, layout, until, list(against or []))
    for step in STEPS:
        step.prepare(ctx)
    for i, step in enumerate(STEPS):
        t = time.perf_counter()
        path = table_path(layout, i, step)
        write_decisions(step.run(ctx), path)
        ctx.earlier.append(path)
        if phases is not None:
            phases[step.name] = time.perf_counter() - t
    return list(ctx.earlier)


def build_ledger(
    layout: Layout, db: Path | None = None, steps: list[Path] | None = None, off=None
) -> None:
    """(Re)build ``documents`` and the views of ``db`` (default: the run's ledger)."""
    con = ledger.connect(db or layout.ledger)
    # Capped (DuckDB's default is 80% of RAM: 1M documents took 2.6 GB), the sort behind
    # ``documents`` spills to ``<ledger>.tmp``; one thread, as more failed to pin blocks.
    con.execute(f"SET memory_limit = '{LEDGER_MEMORY_MIB}MB'")
    con.execute("SET threads = 1")
    try:
        ledger.build_index(
            con,
            layout.docs_files(),
            decision_tables(layout) if steps is None else steps,
            layout.rejects_files(),
            layout.generation_files(),
            layout.marker_files(),
            off=off,
            stages=funnel(),
        )
    finally:
        con.close()


def reindex(layout: Layout, min_edu: float | None = None) -> None:
    """``primer index``: the ledger rebuilt from the work files; ``min_edu`` re-decides
    classify's drops from the cached scores first (the corpus is not rewritten)."""
    tables = decision_tables(layout)
    if min_edu is not None:
        names = [_step_name(t) for t in tables]
        if Classify.name in names:
            cut = names.index(Classify.name)
            _refuse_later_decisions(names, tables, cut, "index --min-edu")
            step = Classify()
            ctx = StepContext(PipelineConfig(), layout, earlier=tables[:cut])
            write_decisions(step.decide(ctx, step.cache_files(ctx), min_edu), tables[cut])
    build_ledger(layout, steps=tables)


def _step_name(table: Path) -> str:
    return table.name.split("-", 1)[1].removesuffix(".parquet")


def _refuse_later_decisions(names: list[str], tables: list[Path], cut: int, what: str) -> None:
    """Steps after classify (but write) that decided something would need rerunning for a
    new cut (semantic dedup compares the kept documents, which the cut changes): refuse."""
    later = [
        n
        for n, t in zip(names[cut + 1 :], tables[cut + 1 :], strict=True)
        if n != Write.name and pq.read_metadata(t).num_rows
    ]
    if later:
        raise ValueError(f"{what} cannot re-run the steps after classify: {', '.join(later)}")


def reselect(layout: Layout, dest: Path, min_edu: float, shards: ShardConfig) -> tuple[int, int]:
    """A finished run re-thresholded at ``min_edu`` into ``dest`` (no model runs).

    The run's decision tables up to classify are reused; classify's is re-decided from
    the cached scores into ``dest/decisions/``, then the write step writes ``dest/corpus``.
    """
    tables = decision_tables(layout)
    names = [_step_name(t) for t in tables]
    if Classify.name not in names:
        raise FileNotFoundError(f"{layout.out}: no classify decisions (run the classify step)")
    cut = names.index(Classify.name)
    _refuse_later_decisions(names, tables, cut, "select")
    earlier = tables[:cut]
    ctx = StepContext(PipelineConfig(), layout, earlier=earlier)
    step = Classify()
    decided = dest / "decisions" / tables[cut].name
    write_decisions(step.decide(ctx, step.cache_files(ctx), min_edu), decided)
    steps = [*earlier, decided]
    table, n_docs, n_tokens = write_corpus(layout.docs_files(), steps, dest / "corpus", shards)
    written = dest / "decisions" / f"{(cut + 2) * 10:02d}-{Write.name}.parquet"
    write_decisions(table, written)
    build_ledger(layout, dest / "corpus.duckdb", [*steps, written])
    return n_docs, n_tokens


__all__ = ["funnel", "STEPS", "Step", "StepContext", "build_ledger", "reindex", "run_steps"]
