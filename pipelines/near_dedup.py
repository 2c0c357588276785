"""MinHash near-duplicate removal on Ray (wiring only; algorithms in ``corpus/dedup``).

Steps, each a Ray Data operator from ``pipelines.ray_backend`` (run in this process for
corpora up to ``dedup.in_process_max_docs``, where Ray Data's start-up per operation
costs more than the work):

1. ``map_tables``: band hashes per document, written once to a scratch Parquet
   (``uid, id, ..., node, bands``: no text, ~200 bytes/doc); read from the ``minhash``
   column ingest computed where its parameters match, else shingles -> signatures ->
   bands from the text.
2. ``map_tables`` + ``group_map``: one row per (document, band), shuffled by a
   partition of ``(band, hash)``; each partition links documents that share a
   bucket. Band rows of earlier corpora (``against``) join the same shuffle.
3. Optional ``verify``: candidate documents' shingles are recomputed and shuffled,
   once per document, to the partition of its candidate graph component; edges
   below ``threshold`` true Jaccard are dropped.
4. Driver: union-find over the candidate edges only (node ids compacted), then
   the keep policy; the attributes of candidate nodes come from a streaming scan
   of the scratch. Memory is O(candidate nodes + edges), reported as
   ``graph_bytes`` in ``near_dedup_stats.json``; other documents cost nothing.
5. Driver, streaming: persist the band hashes of every kept document
   (``minhash/bands-*.parquet``) so a later run can dedup against this one
   without recomputing signatures.

Outputs in ``out_dir``: ``near_dups.parquet`` (one row per dropped document),
``clusters.parquet`` (every member of a multi-member cluster), ``minhash/``,
``near_dedup_stats.json``.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from corpus.dedup.candidates import (
    MINHASH_KEY,
    OLD_SALT,
    bucket_edges,
    doc_bands,
    doc_bands_precomputed,
    minhash_tag,
    node_ids,
    old_band_rows,
)
from corpus.dedup.candidates import band_rows as _band_rows
from corpus.dedup.clusters import resolve
from corpus.dedup.code_tokens import profile_columns
from corpus.dedup.config import DedupConfig
from corpus.dedup.verify import Slots, edge_jaccards, edge_partitions, slot_rows
from corpus.stage import Resources
from pipelines import ray_backend as rb

BAND_ROWS_PER_PARTITION = 200_000  # ~6 MB per shuffle partition
ATTR_COLUMNS = ["node", "uid", "id", "source_file", "position", "length", "edu_score"]


def _parquet_files(paths: Sequence[str | Path]) -> list[str]:
    files: list[str] = []
    for p in map(Path, paths):
        files += sorted(str(f) for f in p.rglob("*.parquet")) if p.is_dir() else [str(p)]
    return files


def _num_rows(files: list[str]) -> int:
    return sum(pq.read_metadata(f).num_rows for f in files)


def _collect(ds) -> pa.Table | None:
    tables = [t for t in rb.iter_batches(ds) if t.num_rows]
    return pa.concat_tables(tables) if tables else None


def index_dir(out: Path) -> Path:
    """Where an earlier output keeps its ``minhash/`` band index: ``primer dedup`` OUT or ``primer run`` OUT/work/near."""
    for cand in (out, out / "work" / "near"):
        if (cand / "minhash").is_dir():
            return cand
    raise FileNotFoundError(
        f"{out}: no MinHash index of an earlier run (minhash/ or work/near/minhash/)"
    )


def near_dedup(
    inputs: list[str],
    out_dir: Path,
    config: DedupConfig,
    against: Sequence[Path] = (),
    rows: Callable[[pa.Table], pa.Table] | None = None,
    n_docs: int | None = None,
) -> Path:
    """Find near-duplicates among ``inputs`` (and against earlier runs); return ``near_dups.parquet``.

    ``inputs``: Parquet files (or directories of them) with ``uid, id, source_file,
    position, text`` and optionally ``edu_score``. ``rows``: a picklable filter
    applied to every table read from ``inputs`` (the run reads the ingest Parquet
    and keeps the surviving uids), then ``n_docs`` says how many rows it keeps.
    ``against``: output directories of earlier runs (their ``minhash/bands-*.parquet``
    are read). Needs ``ray_backend.init()`` first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = out_dir / "_near_dedup_scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    minhash_dir = out_dir / "minhash"
    shutil.rmtree(minhash_dir, ignore_errors=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cfg = config
    against = [index_dir(Path(a)) for a in against]
    files = [f for f in _parquet_files(inputs) if pq.read_metadata(f).num_rows]
    old_files = _parquet_files([Path(a) / "minhash" for a in against])
    n_docs = _num_rows(files) if n_docs is None else n_docs
    parts = cfg.partitions or max(
        2, math.ceil((n_docs * cfg.bands + _num_rows(old_files)) / BAND_ROWS_PER_PARTITION)
    )
    stats: dict = {
        "documents": n_docs,
        "partitions": parts,
        "earlier_band_rows": _num_rows(old_files),
    }

    # Small corpora run steps 1-3 in this process: Ray Data pays seconds per operation.
    in_process = n_docs + stats["earlier_band_rows"] // cfg.bands <= cfg.in_process_max_docs
    stats["in_process"] = in_process
    with rb.in_process(in_process):
        # 1. Signatures, once: ingest's (``minhash``) where it computed them with these
        # parameters, else from the text.
        extra = ["edu_score"] if files and "edu_score" in pq.read_schema(files[0]).names else []
        if files and all(_has_minhash(f, cfg) for f in files):
            columns = ["uid", "id", "source_file", "position", "n_chars", "minhash", *extra]
            bands_of: Callable[[pa.Table], pa.Table] = doc_bands_precomputed
            stats["signatures"] = "ingest"
        else:
            # code-profile rows shingle code tokens
            columns = ["uid", "id", "source_file", "position", "text", *extra]
            columns += profile_columns(files)
            bands_of = partial(doc_bands, config=cfg)
            stats["signatures"] = "computed"
        if files and n_docs:
            docs = rb.map_tables(
                rb.read_parquet(files, columns=columns),
                lambda t: bands_of(rows(t) if rows else t),
                Resources(cpus=1, batch_size=cfg.batch_size),
            )
            rb.write_parquet(docs, str(scratch / "docs"))
        doc_files = _parquet_files([scratch / "docs"]) if (scratch / "docs").is_dir() else []
        timings["signatures_s"] = time.perf_counter() - t0

        # 2. Candidate edges from a shuffle of band rows.
        t1 = time.perf_counter()
        edges = _candidate_edges(doc_files, old_files, parts, cfg)
        stats["candidate_edges"] = len(edges[0])
        timings["candidates_s"] = time.perf_counter() - t1

        # 3. Optional true-Jaccard check.
        if cfg.verify and len(edges[0]):
            t2 = time.perf_counter()
            edges = _verify(files, edges, parts, cfg, stats, rows)
            timings["verify_s"] = time.perf_counter() - t2

    # 4. Components + keep policy on the driver, over the candidate graph only.
    t3 = time.perf_counter()
    a, b = edges
    nodes = np.unique(np.concatenate([a, b]))
    attrs = _attributes(doc_files, old_files, nodes)
    drops, clusters, graph_stats = resolve(a, b, attrs, cfg.keep)
    stats.update(graph_stats)
    pq.write_table(drops, out_dir / "near_dups.parquet")
    pq.write_table(clusters, out_dir / "clusters.parquet")
    timings["clusters_s"] = time.perf_counter() - t3

    # 5. Band hashes of kept documents, for later runs' ``against``.
    t4 = time.perf_counter()
    _persist_bands(doc_files, drops, minhash_dir, cfg.bands)
    timings["persist_s"] = time.perf_counter() - t4
    shutil.rmtree(scratch, ignore_errors=True)
    timings["total_s"] = time.perf_counter() - t0
    stats["timings"] = {k: round(v, 3) for k, v in timings.items()}
    (out_dir / "near_dedup_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return out_dir / "near_dups.parquet"


def _has_minhash(file: str, cfg: DedupConfig) -> bool:
    meta = pq.read_schema(file).metadata or {}
    return meta.get(MINHASH_KEY) == minhash_tag(cfg).encode()


def _candidate_edges(doc_files: list[str], old_files: list[str], parts: int, cfg: DedupConfig):
    empty = (np.empty(0, np.uint64), np.empty(0, np.uint64))
    if not doc_files:
        return empty
    n_bands = cfg.bands

    def explode(t: pa.Table) -> pa.Table:
        node = t.column("node").to_numpy()
        bands = t.column("bands").combine_chunks().flatten().to_numpy().reshape(-1, n_bands)
        return _band_rows(node, bands, parts)

    rows = rb.map_tables(
        rb.read_parquet(doc_files, columns=["node", "bands"]),
        explode,
        Resources(cpus=1, batch_size=4096),
    )
    if old_files:
        old = rb.map_tables(
            rb.read_parquet(old_files, columns=["uid", "band", "hash"]),
            lambda t: old_band_rows(t, parts),
            Resources(cpus=1, batch_size=65536),
        )
        rows = rb.union(rows, old)
    max_pairs = cfg.max_bucket_pairs if cfg.verify else None
    edges = _collect(rb.group_map(rows, "part", lambda t: bucket_edges(t, max_pairs)))
    if edges is None:
        return empty
    ab = np.unique(
        np.stack([edges.column("a").to_numpy(), edges.column("b").to_numpy()], axis=1), axis=0
    )
    return ab[:, 0].copy(), ab[:, 1].copy()


def _verify(files: list[str], edges, parts: int, cfg: DedupConfig, stats: dict, keep=None):
    a, b = edges
    slots = Slots.build(a, b, edge_partitions(a, b, parts))
    stats["verify_slots"] = len(slots.node)
    rows = rb.map_tables(
        rb.read_parquet(files, columns=["uid", "text", *profile_columns(files)]),
        lambda t: slot_rows(keep(t) if keep else t, slots, cfg.ngram),
        Resources(cpus=1, batch_size=cfg.batch_size),
    )
    result = _collect(rb.group_map(rows, "part", edge_jaccards))
    checked = np.zeros(len(a), dtype=bool)
    keep = np.ones(len(a), dtype=bool)  # edges to earlier corpora cannot be checked: kept
    if result is not None:
        e = result.column("edge").to_numpy()
        checked[e] = True
        keep[e] = result.column("jaccard").to_numpy() >= cfg.threshold
    stats["verified_edges"] = int(checked.sum())
    stats["edges_rejected_by_verify"] = int((~keep).sum())
    return a[keep], b[keep]


def _scan(files: list[str], columns: list[str], keep=None, rows: int = 65536):
    """Stream a local Parquet set in the driver as tables of ~``rows`` rows (bounded memory).

    ``keep`` is an Arrow filter expression applied by the scanner (C++, before
    Python sees a row). Small files (one per Ray block) are coalesced.
    """
    if not files:
        return
    scanner = pads.dataset(files, format="parquet").scanner(columns=columns, filter=keep)
    pending, n = [], 0
    for batch in scanner.to_batches():
        if batch.num_rows:
            pending.append(batch)
            n += batch.num_rows
        if n >= rows:
            yield pa.Table.from_batches(pending)
            pending, n = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _attributes(doc_files: list[str], old_files: list[str], nodes: np.ndarray) -> pa.Table:
    """Keep-policy attributes of the candidate nodes only (new and earlier documents).

    A filtered streaming scan of the signature scratch (no text): only rows of
    graph nodes reach Python, so memory is O(candidates).
    """
    tables = [_empty_attrs()]
    if len(nodes):
        in_graph = pc.field("node").isin(pa.array(nodes, pa.uint64()))
        for t in _scan(doc_files, ATTR_COLUMNS, keep=in_graph):
            tables.append(t.append_column("old", pa.array(np.zeros(len(t), bool))))
        for t in _scan(old_files, ["uid", "id"]):
            node = node_ids(t.column("uid").to_pylist(), OLD_SALT)
            mask = np.isin(node, nodes)
            n = int(mask.sum())
            if n:
                tables.append(
                    pa.table(
                        {
                            "node": pa.array(node[mask]),
                            "uid": t.column("uid").filter(pa.array(mask)),
                            "id": t.column("id").filter(pa.array(mask)),
                            "source_file": pa.nulls(n, pa.string()),
                            "position": pa.nulls(n, pa.int64()),
                            "length": pa.nulls(n, pa.int64()),
                            "edu_score": pa.nulls(n, pa.float64()),
                            "old": pa.array(np.ones(n, bool)),
                        }
                    )
                )
    t = pa.concat_tables([x.cast(tables[0].schema) for x in tables])
    # Earlier band files hold one row per band: keep one row per document.
    _, first = np.unique(t.column("node").to_numpy(), return_index=True)
    return t.take(pa.array(first))


def _empty_attrs() -> pa.Table:
    return pa.table(
        {
            "node": pa.array([], pa.uint64()),
            "uid": pa.array([], pa.string()),
            "id": pa.array([], pa.string()),
            "source_file": pa.array([], pa.string()),
            "position": pa.array([], pa.int64()),
            "length": pa.array([], pa.int64()),
            "edu_score": pa.array([], pa.float64()),
            "old": pa.array([], pa.bool_()),
        }
    )


def _persist_bands(doc_files: list[str], drops: pa.Table, minhash_dir: Path, n_bands: int) -> None:
    """``minhash/bands-NNNNN.parquet`` (``uid, id, band, hash``) of every kept document."""
    dropped = np.sort(node_ids(drops.column("uid").to_pylist()))
    minhash_dir.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [("uid", pa.string()), ("id", pa.string()), ("band", pa.int16()), ("hash", pa.uint64())]
    )
    writer = pq.ParquetWriter(minhash_dir / "bands-00000.parquet", schema)
    try:
        kept_only = ~pc.field("node").isin(pa.array(dropped, pa.uint64()))
        for kept in _scan(doc_files, ["uid", "id", "bands"], keep=kept_only):
            n = kept.num_rows
            idx = pa.array(np.repeat(np.arange(n), n_bands))
            writer.write_table(
                pa.table(
                    {
                        "uid": kept.column("uid").take(idx),
                        "id": kept.column("id").take(idx),
                        "band": pa.array(np.tile(np.arange(n_bands, dtype=np.int16), n)),
                        "hash": kept.column("bands").combine_chunks().flatten(),
                    },
                    schema=schema,
                )
            )
    finally:
        writer.close()
