"""``primer run``: ingest -> exact dedup -> near dedup -> classify -> write -> index.

Per-shard work runs as Ray tasks and is resumable shard by shard (markers in
``work/done``). Global steps read every shard's decisions, so they are redone
whenever the set of finished shards or the config changed, and skipped when
nothing did: rerunning the same command is a no-op. The corpus is written to a
temp directory and swapped in, so readers never see a half-written corpus.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from corpus import ledger
from corpus.readers.inputs import expand_inputs
from corpus.stage import Resources
from pipelines import ray_backend as rb
from pipelines.config import PipelineConfig
from pipelines.exact_dedup import exact_dedup
from pipelines.ingest import ingest_shard
from pipelines.layout import Layout, write_json_atomic
from pipelines.write import write_corpus

log = logging.getLogger("primer")

STEPS = ("ingest", "dedup", "classify", "all")


@dataclass
class RunResult:
    run_id: str
    out: Path
    ingested: list[dict[str, Any]] = field(default_factory=list)
    skipped_shards: int = 0
    up_to_date: bool = False
    counts: dict[str, Any] = field(default_factory=dict)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in (
        "primer-corpus",
        "ray",
        "duckdb",
        "pyarrow",
        "fasttext-numpy2",
        "sentence-transformers",
        "tiktoken",
    ):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def _state_fingerprint(
    layout: Layout, config: PipelineConfig, until: str, against: list[str]
) -> str:
    """What the global steps depend on: finished shards, decision-relevant config, step."""
    cfg = config.model_dump(exclude={"inputs", "output", "ray", "serve"})
    markers = [{k: m[k] for k in ("key", "fingerprint", "n_docs")} for m in layout.done_markers()]
    blob = json.dumps(
        {"cfg": cfg, "markers": markers, "until": until, "against": against}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _say(msg: str) -> None:
    print(f"[primer] {msg}", flush=True)


def run_pipeline(
    config: PipelineConfig,
    until: str = "all",
    force: bool = False,
    against: list[str] | None = None,
    command: str = "primer run",
) -> RunResult:
    if until not in STEPS:
        raise ValueError(f"--until must be one of {', '.join(STEPS)}")
    if not config.output:
        raise ValueError("no output directory: pass --output or set `output:` in the config")
    if not config.inputs and not config.synth.enabled:
        raise ValueError("no inputs: pass --input or set `inputs:` (or enable synth)")
    sources = None if config.profile == "web" else config.profiles.code.languages
    files = expand_inputs(config.inputs, sources) if config.inputs else []  # fails fast, before Ray
    against = [str(Path(a)) for a in (against or [])]
    if against:
        from pipelines.near_dedup import index_dir

        for a in against:
            index_dir(Path(a))  # fails fast, before Ray
    layout = Layout(Path(config.output))
    if force and layout.work.exists():
        shutil.rmtree(layout.work)
    layout.out.mkdir(parents=True, exist_ok=True)
    _cleanup_interrupted(layout)

    result = RunResult(
        run_id=time.strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6], out=layout.out
    )
    con = ledger.connect(layout.ledger)
    ledger.start_run(con, result.run_id, command, config.model_dump(mode="json"), _versions())
    con.close()  # workers never touch the ledger; reopen at the end
    status = "failed"
    try:
        _run_steps(config, layout, files, until, force, against, result)
        status = "ok"
    finally:
        con = ledger.connect(layout.ledger)
        ledger.finish_run(con, result.run_id, status, result.counts)
        con.close()
    return result


def _cleanup_interrupted(layout: Layout) -> None:
    """Leftovers of a killed run: temp dirs and a corpus swap caught half-way."""
    old, new = layout.out / "corpus.old", layout.out / "corpus.new"
    if old.exists() and not layout.corpus.exists():
        old.rename(layout.corpus)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(new, ignore_errors=True)
    docs = layout.work / "docs"
    if docs.is_dir():
        for tmp in docs.glob("*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)


def _synthesize(config: PipelineConfig, layout: Layout) -> list[Path]:
    """Generate synthetic documents into ``OUT/synth/`` (resumable); they are then
    ingested like any shard, so they pass the same gates as web text."""
    from synth.run import run_synth
    from synth.topics import DEFAULT_TOPICS, load_topic_file

    topics = load_topic_file(config.synth.topics or DEFAULT_TOPICS)
    report = run_synth(topics, config.synth, layout.out, log=lambda m: _say(f"  synth {m}"))
    _say(
        f"synth: {report.generated} generated, {report.kept} passed the synth gates, "
        f"{report.already_done} done before ({config.synth.backend} backend)"
    )
    return sorted((layout.out / "synth").glob("*.jsonl.zst"))


def _run_steps(config, layout, files, until, force, against, result: RunResult) -> None:
    if config.synth.enabled:
        files = sorted({*files, *_synthesize(config, layout)})
    todo = [f for f in files if force or not layout.is_done(f)]
    result.skipped_shards = len(files) - len(todo)
    if todo:
        _say(f"ingest: {len(todo)} shard(s) to process, {result.skipped_shards} already done")
        rb.init(config.ray.address, config.ray.num_cpus, progress=config.ray.progress)
        cfg_json = config.model_dump_json()
        result.ingested = rb.run_tasks(
            _IngestTask(str(layout.out), cfg_json),
            [{"path": str(f)} for f in todo],
            Resources(cpus=1),
        )
        for s in sorted(result.ingested, key=lambda s: s["path"]):
            _say(
                f"  {s['path']}: {s['n_docs']} docs, {s['n_rejects']} rejects, {s['seconds']:.1f} s"
            )
    else:
        _say(f"ingest: all {len(files)} shard(s) already done")

    state_file = layout.work / "state.json"
    fingerprint = _state_fingerprint(layout, config, until, against)
    if (
        not force
        and state_file.is_file()
        and json.loads(state_file.read_text()).get("fingerprint") == fingerprint
        and layout.corpus.is_dir()
        and layout.ledger.exists()
    ):
        result.up_to_date = True
        _say("global steps: up to date (same shards, same config); nothing to do")
        result.counts = _counts(layout)
        return
    state_file.unlink(missing_ok=True)

    if not any((layout.work / "docs").glob("*/*.parquet")):
        raise RuntimeError(
            f"no documents in any input ({len(files)} file(s)); see the rejects above"
        )
    n_exact = exact_dedup(layout.docs_glob(), layout.work / "exact.parquet")
    _say(f"exact dedup: {n_exact} duplicate(s)")
    if until != "ingest" and config.dedup.enabled:
        _near_dedup(config, layout, against)
    else:
        shutil.rmtree(layout.work / "near", ignore_errors=True)
    min_edu = None
    if until in ("classify", "all") and config.classify.enabled:
        _classify(config, layout)
        min_edu = config.classify.min_edu_score
    n_kept, _ = write_corpus(
        layout, layout.corpus, config.shards, min_edu, layout.work / "shards.parquet"
    )
    _say(f"write: {n_kept} kept document(s) -> {layout.corpus}")
    con = ledger.connect(layout.ledger)
    ledger.build_index(con, layout, min_edu, layout.work / "shards.parquet")
    con.close()
    result.counts = _counts(layout)
    write_json_atomic(state_file, {"fingerprint": fingerprint, "run_id": result.run_id})


class _IngestTask:
    """Picklable per-shard task (Ray ships it to workers)."""

    def __init__(self, out: str, config_json: str):
        self.out, self.config_json = out, config_json

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        config = PipelineConfig.model_validate_json(self.config_json)
        return ingest_shard(Path(item["path"]), Layout(Path(self.out)), config)


def _export(layout: Layout, sql: str, dest: Path) -> list[str]:
    """Write a query's rows as Parquet files under ``dest`` (fresh); return the file paths."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"COPY ({sql}) TO '{dest}' (FORMAT parquet, FILE_SIZE_BYTES '64MB', OVERWRITE_OR_IGNORE)"
    )
    con.close()
    return sorted(str(p) for p in dest.glob("*.parquet"))


def _survivors_sql(layout: Layout, columns: str) -> str:
    exact = layout.work / "exact.parquet"
    return f"""
      SELECT {columns} FROM read_parquet('{layout.docs_glob()}', union_by_name = true)
      WHERE drop_reason IS NULL
        AND uid NOT IN (SELECT uid FROM read_parquet('{exact}'))
    """


def _near_dedup(config: PipelineConfig, layout: Layout, against: list[str]) -> None:
    from pipelines.near_dedup import near_dedup

    inputs = _export(
        layout,
        _survivors_sql(layout, "uid, id, source_file, position, text")
        + " ORDER BY source_file, position",
        layout.work / "near_input",
    )
    near_dir = layout.work / "near"
    shutil.rmtree(near_dir, ignore_errors=True)
    if not inputs:
        return
    rb.init(config.ray.address, config.ray.num_cpus, progress=config.ray.progress)
    near_dedup(inputs, near_dir, config.dedup, against=[Path(a) for a in against])
    shutil.rmtree(layout.work / "near_input", ignore_errors=True)
    n = (
        pq.read_metadata(near_dir / "near_dups.parquet").num_rows
        if (near_dir / "near_dups.parquet").exists()
        else 0
    )
    _say(f"near dedup: {n} near-duplicate(s)")


def _classify(config: PipelineConfig, layout: Layout) -> None:
    """Score survivors not scored before (scores are cached across runs by uid); each
    profile's documents go to its own model (web: ``classify``, code: ``profiles.code``)."""
    for profile in ("web", "code"):
        _classify_profile(config, layout, profile)


def _classify_profile(config: PipelineConfig, layout: Layout, profile: str) -> None:
    from classifiers.stage import EduStage

    if profile == "code" and not config.profiles.code.classify.enabled:
        return
    edu_root = layout.work / "edu"
    scored = sorted(edu_root.glob("*/*.parquet")) if edu_root.is_dir() else []
    near = layout.work / "near" / "near_dups.parquet"
    sql = _survivors_sql(layout, "uid, text") + f" AND coalesce(profile, 'web') = '{profile}'"
    if near.exists():
        sql += f" AND uid NOT IN (SELECT uid FROM read_parquet('{near}'))"
    if scored:
        sql += f" AND uid NOT IN (SELECT uid FROM read_parquet({[str(p) for p in scored]!r}))"
    inputs = _export(layout, sql, layout.work / "classify_input")
    n_todo = sum(pq.read_metadata(p).num_rows for p in inputs)
    _say(f"classify ({profile}): {n_todo} document(s) to score, {len(scored)} cached batch file(s)")
    if n_todo and profile == "code":
        from classifiers.code.stage import CodeEduStage

        rb.init(config.ray.address, config.ray.num_cpus, progress=config.ray.progress)
        cc = config.profiles.code.classify
        make = partial(CodeEduStage, cc.model, config.classify.min_edu_score, cc.batch_size)
        ds = rb.map_stage(rb.read_parquet(inputs), make, make().resources, n_todo)
        ds = rb.select_columns(ds, ["uid", "edu_score", "edu_int"])
        batch_dir = edu_root / f"batch-{uuid.uuid4().hex[:8]}"
        tmp = batch_dir.with_name(batch_dir.name + ".tmp")
        rb.write_parquet(ds, str(tmp))
        os.replace(tmp, batch_dir)
    elif n_todo:
        rb.init(config.ray.address, config.ray.num_cpus, progress=config.ray.progress)
        cfg = config.classify
        resources = EduStage(cfg).resources
        if not resources.gpus and not cfg.gpus and rb.cluster_gpus() > 0:
            # The driver may have no GPU while the cluster's workers do.
            resources = dataclasses.replace(resources, gpus=1.0)
        ds = rb.map_stage(rb.read_parquet(inputs), partial(EduStage, cfg), resources, n_todo)
        ds = rb.select_columns(ds, ["uid", "edu_score", "edu_int"])
        batch_dir = edu_root / f"batch-{uuid.uuid4().hex[:8]}"
        tmp = batch_dir.with_name(batch_dir.name + ".tmp")
        rb.write_parquet(ds, str(tmp))
        os.replace(tmp, batch_dir)
    shutil.rmtree(layout.work / "classify_input", ignore_errors=True)


def _counts(layout: Layout) -> dict[str, Any]:
    con = ledger.connect(layout.ledger, read_only=False)
    try:
        row = con.execute(
            "SELECT count(*), count(*) FILTER (kept), coalesce(sum(n_tokens) FILTER (kept), 0) FROM documents"
        ).fetchone()
        by_stage = dict(con.execute("SELECT stage, dropped FROM funnel").fetchall())
        n_rejects = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()
    return {
        "documents": row[0],
        "kept": row[1],
        "kept_tokens": int(row[2]),
        "dropped_by_stage": by_stage,
        "rejects": n_rejects,
    }
