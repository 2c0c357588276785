"""``primer run``: ingest, then the global steps (``pipelines.steps``), then the ledger.

Per-shard work runs as Ray tasks and is resumable shard by shard (markers in
``work/done``); a file over ``reader.split_bytes`` is several shards (``pipelines.parts``).
Global steps (exact dedup, near dedup, classify, write) each write a decision table;
they read every shard's decisions, so they are redone whenever the set of finished
shards or the config changed, and skipped when nothing did: rerunning the same command
is a no-op. The corpus is written to a
temp directory and swapped in, so readers never see a half-written corpus.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from corpus import ledger
from corpus.readers.inputs import InputError, expand_inputs
from corpus.stage import Resources
from pipelines import ray_backend as rb
from pipelines.config import PipelineConfig
from pipelines.ingest import ingest_shard
from pipelines.interrupt import cleanup_interrupted, sigterm_as_interrupt
from pipelines.layout import Layout, shard_key, write_json_atomic
from pipelines.parts import Part, part_keys_of, plan
from pipelines.progress import VERBOSE, Progress, level, say
from pipelines.steps import build_ledger, run_steps
from pipelines.steps.base import in_background

log = logging.getLogger("primer")

UNTIL = ("ingest", "dedup", "classify", "all")  # --until: the last step family to run


@dataclass
class RunResult:
    run_id: str
    out: Path
    ingested: list[dict[str, Any]] = field(default_factory=list)
    skipped_shards: int = 0
    n_files: int = 0  # input files (a split file is several shards)
    up_to_date: bool = False
    counts: dict[str, Any] = field(default_factory=dict)
    uploaded: dict[str, int] = field(default_factory=dict)  # by workers, to ``commit_to``
    phases: dict[str, float] = field(default_factory=dict)  # seconds, in order (ledger ``phases``)


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


_say = say


def stages_off(config: PipelineConfig, until: str) -> list[str]:
    """Funnel stages this config does not run (printed "off", not "0")."""
    f = config.filters
    families = (f.gopher_repetition, f.gopher_quality, f.c4, f.fineweb, f.boilerplate)
    off = {
        "langid": not (f.enabled and f.langid.enabled),
        "quality": not (f.enabled and any(fam.enabled for fam in families)),
        "decontam": not config.decontam.active,
        "near-dedup": until == "ingest" or not config.dedup.enabled,
        "classify": until not in ("classify", "all") or not config.classify.enabled,
        "semantic-dedup": until not in ("classify", "all") or not config.dedup.semantic.enabled,
    }
    return [stage for stage, is_off in off.items() if is_off]


def run_pipeline(
    config: PipelineConfig,
    until: str = "all",
    force: bool = False,
    against: list[str] | None = None,
    command: str = "primer run",
    commit_to: str | None = None,
) -> RunResult:
    """Run the pipeline into ``config.output``. ``commit_to``: the object-store URI
    that local output is committed to afterwards (``pipelines.remote``); ingest
    workers then upload their shards there, so they need no shared filesystem."""
    if until not in UNTIL:
        raise ValueError(f"--until must be one of {', '.join(UNTIL)}")
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
    if level() < VERBOSE:  # transformers' "Loading weights" bars (read at import time)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    layout = Layout(Path(config.output))
    if force and layout.work.exists():
        shutil.rmtree(layout.work)
    layout.out.mkdir(parents=True, exist_ok=True)
    n_tmp = cleanup_interrupted(layout)

    result = RunResult(
        run_id=time.strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6], out=layout.out
    )
    con = ledger.connect(layout.ledger)
    n_stale = ledger.mark_interrupted(con)
    ledger.start_run(con, result.run_id, command, config.model_dump(mode="json"), _versions())
    con.close()  # workers never touch the ledger; reopen at the end
    if n_stale or n_tmp:
        _say(
            f"an earlier run was interrupted: {n_stale} run(s) marked interrupted, "
            f"{n_tmp} temp file(s) removed; resuming"
        )
    status = "failed"
    try:
        with sigterm_as_interrupt():
            _run_steps(config, layout, files, until, force, against, result, commit_to)
        status = "ok"
    except KeyboardInterrupt:
        status = "interrupted"
        rb.shutdown()  # no Ray worker may outlive an interrupted driver
        raise
    finally:
        con = ledger.connect(layout.ledger)
        ledger.finish_run(con, result.run_id, status, result.counts, result.phases)
        con.close()
    return result


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


def _run_steps(
    config, layout, files, until, force, against, result: RunResult, commit_to=None
) -> None:
    if config.synth.enabled:
        files = sorted({*files, *_synthesize(config, layout)})
    config = config.model_copy(deep=True)
    config.ray.mode = resolve_mode(config, files)
    if config.ray.mode == "local":
        _say("small input: every step runs in this process (ray.mode=ray to use Ray)")
    result.n_files = len(files)
    shards = plan_shards(config, layout, files)
    todo = [p for p in shards if force or not layout.is_done(p.path, p.key, p.marker_fields())]
    result.skipped_shards = len(shards) - len(todo)
    if todo:
        _say(f"ingest: {len(todo)} shard(s) to process, {result.skipped_shards} already done")
        t = time.perf_counter()
        result.ingested = _ingest(config, layout, todo, commit_to, result.phases, until)
        result.phases["ingest"] = time.perf_counter() - t - result.phases.get("ray start", 0)
        if commit_to:  # what workers on other nodes wrote, for the global steps
            from pipelines import remote

            for s in result.ingested:
                result.uploaded.update(s.pop("files"))
            remote.fetch(commit_to, layout.out, result.uploaded)
        for s in sorted(result.ingested, key=lambda s: (s["path"], s.get("part", 0))):
            of = f" (part {s['part'] + 1}/{s['parts']})" if "part" in s else ""
            _say(
                f"  {s['path']}{of}: {s['n_docs']} docs, {s['n_rejects']} rejects,"
                f" {s['seconds']:.1f} s"
            )
    else:
        _say(f"ingest: all {len(shards)} shard(s) already done")

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
        # A user error (every input is junk), not a crash: one line, exit 1.
        raise InputError(
            f"no documents in any input ({len(files)} file(s)); every record was rejected"
            f" (see {layout.work / 'rejects'} or rerun with --verbose)"
        )
    tables = run_steps(config, layout, until, against, phases=result.phases)
    t = time.perf_counter()
    index = in_background(
        partial(build_ledger, layout, steps=tables, off=stages_off(config, until))
    )
    rb.release()  # Ray's work is done: the ``primer`` command stops it meanwhile
    index.result()
    result.phases["ledger"] = time.perf_counter() - t
    result.counts = _counts(layout)
    write_json_atomic(state_file, {"fingerprint": fingerprint, "run_id": result.run_id})


def plan_shards(config: PipelineConfig, layout: Layout, files: list[Path]) -> list[Part]:
    """The ingest tasks: each file whole, or in parts over ``reader.split_bytes``.

    Work files of a file's other plans (split differently before, or unsplit) are removed,
    so they never add to this plan's: the file is then redone in the new parts.
    """
    from pipelines.profiles import profile_of

    rc = config.reader
    shards: list[Part] = []
    existing = layout.work_keys()
    for f in files:
        splittable = profile_of(f, config.profile, config.profiles) == "web"
        parts = plan(f, f.stat().st_size, rc.split_bytes, rc.split_block, splittable)
        wanted = {p.key for p in parts}
        for stale in part_keys_of(shard_key(f), existing):
            if stale not in wanted:
                layout.remove_key(stale)
        shards += parts
    return shards


def _ingest(
    config: PipelineConfig,
    layout: Layout,
    todo: list[Part],
    commit_to: str | None = None,
    phases: dict[str, float] | None = None,
    until: str = "all",
) -> list[dict[str, Any]]:
    """Ingest shards as Ray tasks while this thread draws the progress line.

    Workers know nothing of progress: the driver counts the batch files that appear in
    each shard's temp dir (``reader.batch_size`` documents each) plus finished markers.
    """
    t = time.perf_counter()
    _ray_init(config)
    if phases is not None and not rb.is_local():
        phases["ray start"] = time.perf_counter() - t
    from pipelines.remote import input_uri
    from pipelines.steps.classify import ingest_student

    student = ingest_student(config, until)
    task = _IngestTask(str(layout.out), config.model_dump_json(), commit_to, student)
    items = [{**p.item(), "uri": input_uri(p.path)} for p in todo]
    box: dict[str, Any] = {}

    def _work() -> None:
        try:
            box["result"] = rb.run_tasks(task, items, Resources(cpus=1))
        except BaseException as e:  # re-raised in the driver's thread
            box["error"] = e

    keys = {p.key: p.path.stat().st_size / p.count for p in todo}
    total_bytes = sum(keys.values()) or 1
    progress = Progress("ingest")
    worker = threading.Thread(target=_work, name="primer-ingest", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)
        done_docs = done_bytes = partial = 0
        for key, size in keys.items():
            marker, final = layout.marker(key), layout.docs_dir(key)
            if marker.is_file() and final.is_dir():
                with contextlib.suppress(ValueError, OSError):
                    done_docs += json.loads(marker.read_text())["n_docs"]
                    done_bytes += size
                    continue
            tmp = final.with_name(final.name + ".tmp")
            if tmp.is_dir():
                partial += sum(1 for _ in tmp.glob("*.parquet")) * config.reader.batch_size
        docs = done_docs + partial
        # Bytes per document from finished shards estimate how many documents are to come.
        fraction = min(docs * done_bytes / done_docs / total_bytes, 0.99) if done_docs else None
        progress.update(docs - progress.done, fraction=fraction)
    if "error" in box:
        raise box["error"]
    results = box["result"]
    progress.done = sum(r["n_docs"] for r in results)
    progress.close(f"{sum(r['n_dropped'] for r in results):,} dropped by the per-document stages")
    return results


def _ray_init(config: PipelineConfig) -> None:
    rb.init(
        config.ray.address,
        config.ray.num_cpus,
        progress=config.ray.progress or level() >= VERBOSE,
        verbose=level() >= VERBOSE,
        local=config.ray.mode == "local",
    )


def resolve_mode(config: PipelineConfig, files: list[Path]) -> str:
    """``ray`` or ``local`` (``ray.mode: auto``): tiny inputs on this machine skip Ray."""
    rc = config.ray
    if rc.mode != "auto":
        return rc.mode
    if rc.address or os.environ.get("RAY_ADDRESS") or rb.ray_running():
        return "ray"
    if config.synth.enabled and config.synth.backend == "vllm":
        return "ray"
    size = sum(f.stat().st_size for f in files)
    return "local" if size <= rc.local_max_bytes else "ray"


class _IngestTask:
    """Picklable per-shard task (Ray ships it to workers); an item is ``Part.item()``
    plus the input's object ``uri`` (``None`` for a local file).

    With an object-store output (``commit_to``) the worker writes into its own node's
    staging dir and uploads the shard's files, marker last; the driver fetches them.
    """

    def __init__(
        self, out: str, config_json: str, commit_to: str | None = None, student: bool = False
    ):
        self.out, self.config_json, self.commit_to = out, config_json, commit_to
        self.student = student

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        config = PipelineConfig.model_validate_json(self.config_json)
        part = Part.from_item(item)
        if not self.commit_to:
            layout = Layout(Path(self.out))
            return ingest_shard(part.path, layout, config, part=part, student=self.student)
        from pipelines import remote

        layout = Layout(remote.output_stage(self.commit_to))
        part = replace(part, path=remote.local_input(item["path"], item["uri"]))
        summary = ingest_shard(part.path, layout, config, part=part, student=self.student)
        key = summary["key"]
        out = layout.out
        shard = [*layout.docs_files_of(key), layout.rejects_file(key)]
        files = [f.relative_to(out).as_posix() for f in shard]
        marker = layout.marker(key).relative_to(out).as_posix()
        summary["files"] = remote.upload_shard(out, self.commit_to, files, marker)
        return summary


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
