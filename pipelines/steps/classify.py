"""The edu classifier over the surviving documents, one model per profile.

Scores are cached across runs by uid (``work/edu/batch-*/``): only documents never
scored are sent to the model (a Ray actor pool, or this process in local mode), and a
changed threshold costs no model run. The decision table holds every cached score and
drops the surviving documents scored below ``classify.min_edu_score`` (``low-edu``);
with the step off (``--until dedup``, ``classify.enabled: false``) it keeps the scores
and drops nothing. With ``dedup.semantic.enabled`` the teacher's document vectors are
kept too, by uid, in ``work/embeddings/`` (``embedding_files``) for the semantic step.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from functools import partial
from itertools import chain
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.stage import Resources
from pipelines.progress import Progress, say
from pipelines.steps.base import Step, StepContext, decision_table, in_background, uid_filter

PROFILES = ("web", "code")
TEACHER_COST = 200  # one teacher score costs about as much as 200 student scores on a CPU


def ingest_student(config, until: str) -> bool:
    """Whether ingest should score the cascade's student (``classifiers.stage.StudentStage``):
    the web classify step will run, with the cascade on and a scorer that has a student.
    Decided by the driver after Ray started (a cluster's GPUs turn an automatic cascade off)."""
    from pipelines import ray_backend as rb

    cfg = config.classify
    if until not in ("classify", "all") or not cfg.enabled or not cfg.cascade.in_ingest:
        return False
    if cfg.cascade.enabled is False:
        return False
    if cfg.cascade.enabled is None:  # on for CPU workers only (EduStage.cascade_on)
        from classifiers.device import stage_resources

        if stage_resources(cfg).gpus or rb.cluster_gpus() > 0:
            return False
    from classifiers.student_scores import student_tag

    return student_tag(cfg) is not None


class Classify(Step):
    name = "classify"
    stages = ("classify",)
    reads = ("uid", "text", "profile")
    measured = pa.schema([("edu_score", pa.float64()), ("edu_int", pa.int64())])

    def run(self, ctx: StepContext) -> pa.Table:
        on = ctx.until in ("classify", "all") and ctx.config.classify.enabled
        if on:
            for profile in PROFILES:
                self.score(ctx, profile)
        min_edu = ctx.config.classify.min_edu_score if on else None
        return self.decide(ctx, self.cache_files(ctx), min_edu)

    @staticmethod
    def embedding_files(ctx: StepContext) -> list[Path]:
        """Cached document vectors (``uid, embedding``), the classifier's or semantic dedup's."""
        root = ctx.layout.work / "embeddings"
        files = sorted(root.glob("*/*.parquet")) if root.is_dir() else []
        return [p for p in files if not p.parent.name.endswith(".tmp")]  # not yet complete

    @staticmethod
    def cache_files(ctx: StepContext) -> list[Path]:
        root = ctx.layout.work / "edu"
        return sorted(root.glob("*/*.parquet")) if root.is_dir() else []

    def decide(self, ctx: StepContext, scores: list[Path], min_edu: float | None) -> pa.Table:
        """Every cached score; ``low-edu`` for survivors below ``min_edu`` (None: no drops)."""
        if not scores:
            return self.empty()
        low = "false" if min_edu is None else f"s.edu_score < {float(min_edu)!r}"
        con = duckdb.connect()
        try:
            t = con.sql(
                f"""
                WITH alive AS ({ctx.survivors_sql("uid")}),
                     s AS (SELECT uid, edu_score, edu_int
                           FROM read_parquet({[str(p) for p in scores]!r}))
                SELECT s.uid, s.edu_score, s.edu_int,
                       CASE WHEN a.uid IS NOT NULL AND {low} THEN 'classify' END AS drop_stage,
                       CASE WHEN a.uid IS NOT NULL AND {low} THEN 'low-edu' END AS drop_reason
                FROM s LEFT JOIN alive a USING (uid)
                """
            ).to_arrow_table()
        finally:
            con.close()
        return decision_table(self, {c: t.column(c) for c in t.column_names})

    def prepare(self, ctx: StepContext) -> None:
        """Load the web teacher in a thread while the dedup steps run, where ``score``
        will run it in this process on the student's band and ingest left documents in
        that band (a superset of what dedup leaves). Near dedup runs as a Ray task then,
        so the thread has a core and this process's GIL to itself; without Ray it shares
        them, still ~1 s ahead."""
        from pipelines import ray_backend as rb

        cfg = ctx.config.classify
        if ctx.until not in ("classify", "all") or not cfg.enabled or cfg.in_process_max_docs < 1:
            return
        if not (rb.is_local() or rb.ray_running()):  # a resumed run: Ray starts later, if at all
            return
        from classifiers.device import stage_resources  # light: this thread imports no sklearn

        gpus = stage_resources(cfg).gpus or cfg.gpus or rb.cluster_gpus()
        if gpus or cfg.cascade.enabled is False:  # as ``EduStage.cascade_on`` on CPUs
            return
        if rb.cluster_cpus() > (os.cpu_count() or 1) or not _stored_student(ctx):
            return
        if _band_left(ctx, cfg.cascade.low, cfg.cascade.high):
            ctx.prepared[self.name] = in_background(partial(_driver_teacher, ctx.config))

    def score(self, ctx: StepContext, profile: str) -> None:
        """Score the survivors of ``profile`` never scored before into a new cache batch."""
        from pipelines import ray_backend as rb

        config = ctx.config
        if profile == "code" and not config.profiles.code.classify.enabled:
            return
        scored = self.cache_files(ctx)
        if "profile" in ctx.doc_columns():
            where = f"coalesce(profile, 'web') = '{profile}'"
        else:  # written before profiles existed: all web
            where = "true" if profile == "web" else "false"
        if scored:
            cached = f"SELECT uid FROM read_parquet({[str(p) for p in scored]!r})"
            where += f" AND uid NOT IN ({cached})"
        todo = ctx.survivor_uids(where)
        n_todo = len(todo)
        if profile == "web" or n_todo:  # web-only runs say nothing about the code model
            name = "classify" if profile == "web" else f"classify ({profile})"
            say(f"{name}: {n_todo} document(s) to score, {len(scored)} cached batch file(s)")
        if not n_todo:
            return
        ctx.ray_init()
        cfg = config.classify
        keep = config.dedup.semantic.enabled and profile == "web"
        if profile == "code":
            from classifiers.code.stage import CodeEduStage

            cc = config.profiles.code.classify
            make = partial(CodeEduStage, cc.model, cfg.min_edu_score, cc.batch_size)
            resources = make().resources
        else:
            from classifiers.model import load_edu_model
            from classifiers.stage import EduStage

            make = partial(EduStage, cfg, keep_embeddings=keep)
            stage = EduStage(cfg)
            resources = stage.resources
            if not resources.gpus and not cfg.gpus and rb.cluster_gpus() > 0:
                # The driver may have no GPU while the cluster's workers do.
                resources = dataclasses.replace(resources, gpus=1.0)
        in_process, columns, decided = False, ["uid", "text"], None
        if profile == "web" and not resources.gpus and stage.cascade_on():
            prepared = ctx.prepared.pop(self.name, None)  # the teacher loaded by ``prepare``
            model = prepared.result() if prepared else load_edu_model(cfg.model, cfg.positive_label)
            if getattr(model, "student", None) is not None:
                # A cascade whose student decides (almost) every document is cheaper here
                # than an actor pool's start: the work is counted in student scores.
                work, any_size = n_todo, False
                if _stored_student(ctx):
                    # ingest scored the student: its scores outside the band are final
                    # (no text read for them), the teacher's band is left
                    decided, todo = _student_split(ctx, todo, cfg.cascade.low, cfg.cascade.high)
                    columns.append("edu_student")
                    work = TEACHER_COST * len(todo)
                    # Only the teacher is left, and in the driver it uses every core: on one
                    # machine a pool adds no cores, only a start and a model per actor (at
                    # 1M documents: ~600 band documents, two 0.95 GB actors).
                    any_size = rb.cluster_cpus() <= (os.cpu_count() or 1)
                in_process = cfg.in_process_max_docs > 0 and (
                    any_size or work <= cfg.in_process_max_docs
                )
            if in_process:
                make = partial(EduStage, _driver_cfg(config), keep_embeddings=keep, model=model)
        with rb.in_process(in_process):
            self._score_batch(ctx, todo, make, resources, keep, columns, decided)

    def _score_batch(
        self,
        ctx: StepContext,
        todo,
        make,
        resources: Resources,
        keep: bool,
        columns: list[str],
        decided: pa.Table | None = None,
    ) -> None:
        """Score ``todo`` (uids) with stages from ``make`` into a new cache batch, with
        the ``decided`` scores (``uid, edu_student``: the cascade student's final ones)."""
        from pipelines import ray_backend as rb

        cfg = ctx.config.classify
        n_todo = len(todo)
        tables = []
        if decided is not None and decided.num_rows:
            tables.append(_decided_table(decided))
        if n_todo:
            # The ingest Parquet itself, filtered to the documents to score.
            docs = rb.read_parquet([str(p) for p in ctx.layout.docs_files()], columns=columns)
            docs = rb.map_tables(docs, uid_filter(todo), Resources(cpus=1, batch_size=4096))
            ds = rb.map_stage(docs, make, resources, n_todo)
            ds = rb.select_columns(
                ds, ["uid", "edu_score", "edu_int", *(["embedding"] if keep else [])]
            )
            tables = chain(tables, rb.iter_batches(ds, batch_size=None))
        n_todo += decided.num_rows if decided is not None else 0
        name = f"batch-{uuid.uuid4().hex[:8]}"
        batch_dir = ctx.layout.work / "edu" / name
        tmp = batch_dir.with_name(batch_dir.name + ".tmp")
        tmp.mkdir(parents=True)
        vectors = EmbeddingWriter(ctx.layout.work / "embeddings" / name) if keep else None
        # Scores stream back to the driver (3 small columns, + 384 floats per document when
        # vectors are kept), which writes them and draws the progress line: the teacher
        # scores ~10 docs/s per core, hours for a big run.
        progress = Progress("classify", total=n_todo)
        n_low = 0
        for i, table in enumerate(tables):
            if vectors is not None and "embedding" in table.column_names:
                vectors.write(table.select(["uid", "embedding"]))
                table = table.drop_columns(["embedding"])
            pq.write_table(table, tmp / f"part-{i:05d}.parquet")
            progress.update(table.num_rows)
            scores = table.column("edu_score").to_pylist()
            n_low += sum(s is not None and s < cfg.min_edu_score for s in scores)
        os.replace(tmp, batch_dir)
        if vectors is not None:  # after the scores: a kill in between costs a re-embed only
            vectors.close()
        progress.close(f"{n_low:,} below min_edu_score {cfg.min_edu_score}")


def _driver_cfg(config):
    """The classify config of a teacher in the driver: nothing else runs meanwhile, so
    torch may use every core of this machine."""
    cfg = config.classify
    cores = cfg.torch_threads or config.ray.num_cpus or os.cpu_count() or 1
    return cfg.model_copy(update={"torch_threads": cores})


def _driver_teacher(config):
    """The web model with its teacher (encoder) loaded, as ``score`` runs it in the driver."""
    from classifiers.stage import EduStage

    stage = EduStage(_driver_cfg(config))
    stage.setup()  # the model, torch's threads, the encoder's options
    stage.model.embedder()
    return stage.model


def _band_left(ctx: StepContext, low: float, high: float) -> bool:
    """Whether a web document alive after ingest has no student score or one in the band."""
    files = [str(p) for p in ctx.layout.docs_files()]
    web = "coalesce(profile, 'web') = 'web'" if "profile" in ctx.doc_columns() else "true"
    con = duckdb.connect()
    try:
        sql = (
            f"SELECT 1 FROM read_parquet({files!r}, union_by_name = true) WHERE {web} "
            "AND drop_reason IS NULL AND (edu_student IS NULL OR isnan(edu_student) "
            "OR (edu_student >= ? AND edu_student < ?)) LIMIT 1"
        )
        return bool(con.execute(sql, [low, high]).fetchall())
    finally:
        con.close()


def _stored_student(ctx: StepContext) -> bool:
    """Whether every ingest file holds ``edu_student`` from the configured model's student."""
    from classifiers.student_scores import STUDENT_TAG_KEY, student_tag

    tag = student_tag(ctx.config.classify)
    files = ctx.layout.docs_files()
    if tag is None or not files:
        return False
    return all(
        (pq.read_schema(f).metadata or {}).get(STUDENT_TAG_KEY) == tag.encode() for f in files
    )


def _student_split(
    ctx: StepContext, todo: pa.Array, low: float, high: float
) -> tuple[pa.Table, pa.Array]:
    """``todo`` split by the stored student scores: (``uid, edu_student`` of the documents
    the student decides, outside ``[low, high)``; the uids left to the teacher)."""
    from classifiers.cascade import in_band

    files = [str(p) for p in ctx.layout.docs_files()]
    con = duckdb.connect()
    try:
        con.register("todo", pa.table({"uid": todo}))
        t = con.sql(
            f"SELECT uid, edu_student FROM read_parquet({files!r}, union_by_name = true) "
            "SEMI JOIN todo USING (uid)"
        ).to_arrow_table()
    finally:
        con.close()
    s = t.column("edu_student").to_numpy(zero_copy_only=False)  # a missing score is NaN
    unsure = pa.array(np.isnan(s) | in_band(s, low, high))
    return t.filter(pc.invert(unsure)), t.column("uid").filter(unsure).combine_chunks()


def _decided_table(decided: pa.Table) -> pa.Table:
    """The cache rows of scores the student decided, as the classify stage stores them."""
    from classifiers.stage import edu_columns

    scores, ints = edu_columns(decided.column("edu_student").to_numpy(zero_copy_only=False))
    return pa.table(
        {
            "uid": decided.column("uid"),
            "edu_score": pa.array(scores, pa.float64()),
            "edu_int": pa.array(ints, pa.int64()),
        }
    )


class EmbeddingWriter:
    """Document vectors by uid into ``final`` (a temp dir renamed on ``close``); rows
    without a vector (the scorer did not embed them) are left out."""

    SCHEMA = pa.schema([("uid", pa.string()), ("embedding", pa.list_(pa.float32()))])

    def __init__(self, final: Path):
        self.final = final
        self.tmp = final.with_name(final.name + ".tmp")
        self.tmp.mkdir(parents=True)
        self.n = self.parts = 0

    def write(self, table: pa.Table) -> None:
        table = table.filter(pc.is_valid(table.column("embedding")))
        if table.num_rows:
            pq.write_table(table.cast(self.SCHEMA), self.tmp / f"part-{self.parts:05d}.parquet")
            self.parts += 1
            self.n += table.num_rows

    def close(self) -> None:
        if self.parts:
            os.replace(self.tmp, self.final)
        else:
            self.tmp.rmdir()
