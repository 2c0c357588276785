"""The service's decisions, without Ray: the same ``Stage`` objects and dedup
functions ``primer run`` uses, applied to the documents of one request.

``primer run`` decides in steps: per-document stages (``pipelines.ingest.build_stages``:
filters, decontamination, tokens), exact dedup (first of each ``text_hash`` by
input order), MinHash near dedup (LSH buckets, true-Jaccard check, union-find,
keep policy: ``corpus.dedup``), then the edu classifier (``EduStage``). Here the
request is the run: its documents are ``(source_file="request", position=i)``,
so "first" means first in the request, exactly as it means first in
``(source_file, position)`` order in a run. With an ``EarlierIndex`` a document
is also a duplicate of a kept document of that run (exact: same ``text_hash``;
near: a shared band, unverified like ``primer run --against``). The edu step is
split out (``edu_texts``/``apply_edu``) because the service runs it in its own
deployment.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.dedup.candidates import band_rows, bucket_edges, doc_bands
from corpus.dedup.clusters import resolve
from corpus.dedup.shingles import jaccard, shingle_hashes
from corpus.stage import Batch, alive, batch_len, mark_dropped
from pipelines.config import PipelineConfig
from pipelines.serve.index import EarlierIndex, band_keys

SOURCE = "request"
# Columns answered per document (when the stage that makes them ran).
RESULT_COLUMNS = (
    "lang",
    "lang_score",
    "quality",
    "n_chars",
    "n_tokens",
    "edu_score",
    "edu_int",
    "duplicate_of",
    "decontam_hits",
)


class Decider:
    """Loads the per-document stages once (fastText, tokenizer...); ``decide`` is thread-safe
    as far as the stages are (the service calls it from one thread per replica)."""

    def __init__(self, config: PipelineConfig, index: EarlierIndex | None = None) -> None:
        from pipelines.ingest import build_stages

        self.config = config
        self.index = index
        self.stages = build_stages(config)

    # --- HTML -------------------------------------------------------------------------
    def extract(self, html: str, url: str | None) -> str:
        from corpus.extract import extract_main_text

        return extract_main_text(html, url, extractor=self.config.reader.extractor)

    # --- everything but the classifier -------------------------------------------------
    def decide(self, docs: list[dict[str, Any]]) -> Batch:
        """``docs``: ``id, text | html, url, metadata`` (valid, within limits). One row each."""
        from corpus.urls import domain

        texts = [
            d["text"] if d.get("text") is not None else self.extract(d["html"], d.get("url"))
            for d in docs
        ]
        n = len(docs)
        batch: Batch = {
            "uid": [f"{SOURCE}/{i}" for i in range(n)],
            "id": [d["id"] for d in docs],
            "source": [SOURCE] * n,
            "source_file": [SOURCE] * n,
            "position": list(range(n)),
            "url": [d.get("url") for d in docs],
            "domain": [domain(d["url"]) if d.get("url") else None for d in docs],
            "metadata": [json.dumps(d.get("metadata") or {}, ensure_ascii=False) for d in docs],
            "text": texts,
            "drop_stage": [None] * n,
            "drop_reason": [None] * n,
        }
        for stage in self.stages:
            batch = stage.process(batch)
        batch["duplicate_of"] = [None] * n
        self._exact(batch)
        if self.config.dedup.enabled:
            self._near(batch)
        return batch

    def _exact(self, batch: Batch) -> None:
        hashes = batch.get("text_hash")
        if hashes is None:  # filters disabled: nothing hashed (as in primer run)
            return
        earlier = self.index.exact if self.index is not None else {}
        first: dict[int, str] = {}
        rows, dup_of = [], []
        for i, ok in enumerate(alive(batch)):
            h = hashes[i]
            if not ok or h is None:
                continue
            if h in earlier:
                rows.append(i)
                dup_of.append(earlier[h])
            elif h in first:
                rows.append(i)
                dup_of.append(first[h])
            else:
                first[h] = batch["id"][i]
        mark_dropped(batch, rows, "exact-dedup", ["exact-duplicate"] * len(rows))
        for i, d in zip(rows, dup_of, strict=True):
            batch["duplicate_of"][i] = d

    def _near(self, batch: Batch) -> None:
        cfg = self.config.dedup
        live = [i for i, ok in enumerate(alive(batch)) if ok]
        if not live:
            return
        table = pa.table(
            {
                "uid": [batch["uid"][i] for i in live],
                "id": [str(batch["id"][i]) for i in live],
                "source_file": [SOURCE] * len(live),
                "position": live,
                "text": [batch["text"][i] or "" for i in live],
            }
        )
        docs = doc_bands(table, cfg)
        if not docs.num_rows:
            return
        node = docs.column("node").to_numpy()
        bands = docs.column("bands").combine_chunks().flatten().to_numpy().reshape(-1, cfg.bands)
        rows = band_rows(node, bands, 1)
        old_attrs = None
        if self.index is not None and len(self.index.keys):
            q, old = self.index.lookup(
                band_keys(rows.column("band").to_numpy(), rows.column("hash").to_numpy())
            )
            if len(q):
                old_rows = pa.table(
                    {
                        "part": np.zeros(len(q), np.int32),
                        "band": rows.column("band").take(pa.array(q)),
                        "hash": rows.column("hash").take(pa.array(q)),
                        "node": pa.array(old, pa.uint64()),
                        "old": np.ones(len(q), bool),
                    }
                )
                rows = pa.concat_tables([rows, old_rows.cast(rows.schema)])
                old_nodes = np.unique(old)
                uids, ids = self.index.describe(old_nodes)
                old_attrs = _attrs(old_nodes, uids, ids, None, None, old=True)
        edges = bucket_edges(rows, cfg.max_bucket_pairs if cfg.verify else None)
        a, b = edges.column("a").to_numpy(), edges.column("b").to_numpy()
        if not len(a):
            return
        if cfg.verify:
            a, b = self._verify(a, b, docs, table, cfg)
        attrs = _attrs(
            node,
            docs.column("uid").to_pylist(),
            docs.column("id").to_pylist(),
            docs.column("position").to_pylist(),
            docs.column("length").to_pylist(),
            old=False,
        )
        if old_attrs is not None:
            attrs = pa.concat_tables([attrs, old_attrs])
        in_graph = np.unique(np.concatenate([a, b]))
        attrs = attrs.filter(pa.array(np.isin(attrs.column("node").to_numpy(), in_graph)))
        drops, _, _ = resolve(a, b, attrs, cfg.keep)
        row_of = {u: int(u.rsplit("/", 1)[1]) for u in drops.column("uid").to_pylist()}
        dropped = [row_of[u] for u in drops.column("uid").to_pylist()]
        mark_dropped(batch, dropped, "near-dedup", ["near-duplicate"] * len(dropped))
        for i, d in zip(dropped, drops.column("duplicate_of").to_pylist(), strict=True):
            batch["duplicate_of"][i] = d

    @staticmethod
    def _verify(a, b, docs: pa.Table, table: pa.Table, cfg) -> tuple[np.ndarray, np.ndarray]:
        """True Jaccard of request-request edges; edges to earlier documents stay (as in a run)."""
        node = docs.column("node").to_numpy()
        order = np.argsort(node)
        by_uid = dict(zip(table.column("uid").to_pylist(), range(table.num_rows), strict=True))
        texts = table.column("text").to_pylist()
        rows = [by_uid[u] for u in docs.column("uid").to_pylist()]
        sh, off = shingle_hashes([texts[r] for r in rows], cfg.ngram)
        sets = [np.unique(sh[off[k] : off[k + 1]]) for k in range(len(rows))]
        keep = np.ones(len(a), bool)
        for e, (x, y) in enumerate(zip(a, b, strict=True)):
            px, py = np.searchsorted(node[order], [x, y])
            if px >= len(node) or py >= len(node):
                continue
            ix, iy = order[px], order[py]
            if node[ix] != x or node[iy] != y:
                continue  # an earlier document: unverifiable, kept
            keep[e] = jaccard(sets[ix], sets[iy]) >= cfg.threshold
        return a[keep], b[keep]

    # --- the classifier, run elsewhere ----------------------------------------------------
    def edu_rows(self, batch: Batch) -> list[int]:
        """Rows the classifier must score (alive after dedup), if classify is enabled."""
        if not self.config.classify.enabled:
            return []
        return [i for i, ok in enumerate(alive(batch)) if ok]

    @staticmethod
    def apply_edu(batch: Batch, rows: list[int], scored: Batch) -> None:
        """Merge ``EduStage.process`` output for ``rows`` back into the request's batch."""
        n = batch_len(batch)
        batch.setdefault("edu_score", [None] * n)
        batch.setdefault("edu_int", [None] * n)
        drop, why = [], []
        for k, i in enumerate(rows):
            batch["edu_score"][i] = scored["edu_score"][k]
            batch["edu_int"][i] = scored["edu_int"][k]
            if scored["drop_reason"][k] is not None:
                drop.append(i)
                why.append(scored["drop_reason"][k])
        mark_dropped(batch, drop, "classify", why)


def _attrs(node, uids, ids, positions, lengths, old: bool) -> pa.Table:
    n = len(node)
    return pa.table(
        {
            "node": pa.array(node, pa.uint64()),
            "uid": pa.array(uids, pa.string()),
            "id": pa.array(ids, pa.string()),
            "source_file": pa.array([None if old else SOURCE] * n, pa.string()),
            "position": pa.array(positions if positions is not None else [None] * n, pa.int64()),
            "length": pa.array(lengths if lengths is not None else [None] * n, pa.int64()),
            "edu_score": pa.nulls(n, pa.float64()),
            "old": pa.array(np.full(n, old)),
        }
    )


def results(batch: Batch) -> list[dict[str, Any]]:
    """One JSON-able decision per row, in order."""
    out = []
    for i in range(batch_len(batch)):
        r: dict[str, Any] = {
            "id": batch["id"][i],
            "kept": batch["drop_reason"][i] is None,
            "drop_stage": batch["drop_stage"][i],
            "drop_reason": batch["drop_reason"][i],
        }
        for col in RESULT_COLUMNS:
            if col in batch:
                v = batch[col][i]
                r[col] = json.loads(v) if col == "decontam_hits" and v else v
        out.append(r)
    return out
