"""Semantic dedup (``dedup.semantic``, off by default): after classify, among the kept
documents, drop those whose embedding cosine to an earlier kept one exceeds the threshold,
compared within spherical k-means clusters (``corpus.dedup.semantic``, SemDeDup-style).

The vectors come for free when the classifier's teacher computed them (``work/embeddings/``,
written by the classify step); documents without one (a plug-in scorer, the cascade student,
the code model, scores cached before the option was on) are embedded here with the same
MiniLM settings, as a Ray actor pool like the classifier's, and cached for the next run.
"Earlier" is the input order ``(source_file, position)``, as for exact dedup. A dropped
document gets ``duplicate_of`` (the kept one's id) and ``semantic_sim``; both share the
``dup_cluster`` ``sem-<kept uid>``.
"""

from __future__ import annotations

import dataclasses
import uuid
from functools import partial

import duckdb
import numpy as np
import pyarrow as pa

from corpus.dedup.semantic import default_clusters, semantic_dedup
from corpus.stage import Resources
from pipelines.progress import Progress, say
from pipelines.steps.base import Step, StepContext, decision_table, uid_filter
from pipelines.steps.classify import Classify, EmbeddingWriter


class SemanticDedup(Step):
    name = "semantic-dedup"
    stages = ("semantic-dedup",)
    reads = ("uid", "id", "source_file", "position", "text")
    measured = pa.schema([("semantic_sim", pa.float64())])

    def run(self, ctx: StepContext) -> pa.Table:
        cfg = ctx.config.dedup.semantic
        if ctx.until not in ("classify", "all") or not cfg.enabled:
            return self.empty()
        con = duckdb.connect()
        try:
            alive = con.sql(
                ctx.survivors_sql("uid, id") + " ORDER BY source_file, position"
            ).to_arrow_table()
            if not alive.num_rows:
                return self.empty()
            vectors = self.cached_vectors(con, ctx, alive)
        finally:
            con.close()
        uids = alive.column("uid").to_pylist()
        missing = [u for u in uids if u not in vectors]
        say(
            f"semantic dedup: {len(uids):,} document(s), {len(uids) - len(missing):,} vector(s)"
            f" from the classifier or the cache, {len(missing):,} to embed (all-MiniLM-L6-v2)"
        )
        if missing:
            vectors.update(self.embed(ctx, pa.array(missing, pa.string())))
        x = np.stack([vectors[u] for u in uids])
        k = cfg.n_clusters or default_clusters(len(uids))
        dups = semantic_dedup(uids, x, cfg.threshold, k, iterations=cfg.iterations, seed=cfg.seed)
        say(
            f"semantic dedup: {len(dups):,} duplicate(s) at cosine > {cfg.threshold}"
            f" within {min(k, len(uids))} k-means cluster(s)"
        )
        return self.decisions(alive, dups)

    def decisions(self, alive: pa.Table, dups) -> pa.Table:
        """Drops (``duplicate_of`` = the kept one's id) plus the kept member of each cluster."""
        uids = alive.column("uid").to_pylist()
        id_of = dict(zip(uids, alive.column("id").to_pylist(), strict=True))
        order = {u: i for i, u in enumerate(uids)}
        kept = sorted({d.duplicate_of for d in dups}, key=order.__getitem__)
        n, m = len(dups), len(kept)
        return decision_table(
            self,
            {
                "uid": [d.uid for d in dups] + kept,
                "drop_stage": ["semantic-dedup"] * n + [None] * m,
                "drop_reason": ["semantic-duplicate"] * n + [None] * m,
                "duplicate_of": [id_of[d.duplicate_of] for d in dups] + [None] * m,
                "dup_cluster": [f"sem-{d.duplicate_of}" for d in dups] + [f"sem-{u}" for u in kept],
                "semantic_sim": [round(d.similarity, 6) for d in dups] + [None] * m,
            },
        )

    @staticmethod
    def cached_vectors(con, ctx: StepContext, alive: pa.Table) -> dict[str, np.ndarray]:
        """The cached vector of every surviving document that has one."""
        files = Classify.embedding_files(ctx)
        if not files:
            return {}
        con.register("alive_uids", alive.select(["uid"]))
        t = con.sql(
            f"SELECT uid, any_value(embedding) AS embedding FROM read_parquet({[str(p) for p in files]!r})"
            " WHERE uid IN (SELECT uid FROM alive_uids) GROUP BY uid"
        ).to_arrow_table()
        return _as_dict(t)

    @staticmethod
    def embed(ctx: StepContext, todo: pa.Array) -> dict[str, np.ndarray]:
        """Embed ``todo`` (uids) with the shared MiniLM, cached under ``work/embeddings/``."""
        from classifiers.stage import EmbedStage
        from pipelines import ray_backend as rb

        ctx.ray_init()
        cfg = ctx.config.classify
        resources = EmbedStage(cfg).resources
        if not resources.gpus and not cfg.gpus and rb.cluster_gpus() > 0:
            resources = dataclasses.replace(resources, gpus=1.0)  # as the classify step
        docs = rb.read_parquet([str(p) for p in ctx.layout.docs_files()], columns=["uid", "text"])
        docs = rb.map_tables(docs, uid_filter(todo), Resources(cpus=1, batch_size=4096))
        ds = rb.map_stage(docs, partial(EmbedStage, cfg), resources, len(todo))
        ds = rb.select_columns(ds, ["uid", "embedding"])
        writer = EmbeddingWriter(ctx.layout.work / "embeddings" / f"sem-{uuid.uuid4().hex[:8]}")
        progress = Progress("semantic dedup (embed)", total=len(todo))
        out: dict[str, np.ndarray] = {}
        for table in rb.iter_batches(ds, batch_size=None):
            writer.write(table)
            out.update(_as_dict(table))
            progress.update(table.num_rows)
        writer.close()
        progress.close("embedded")
        return out


def _as_dict(table: pa.Table) -> dict[str, np.ndarray]:
    uids = table.column("uid").to_pylist()
    vecs = table.column("embedding").to_pylist()
    return {
        u: np.asarray(v, dtype=np.float32) for u, v in zip(uids, vecs, strict=True) if v is not None
    }
