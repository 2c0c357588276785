"""From documents to candidate pairs, as pure Arrow-table functions (the Ray wiring
lives in ``pipelines/near_dedup.py``; each function here runs on one worker's batch).

1. ``doc_bands``: text -> shingles -> MinHash -> one uint64 per LSH band, plus the
   few attributes the keep policy needs (no text), one row per document.
2. ``band_rows``: one row per (document, band), with a shuffle partition derived
   from the band hash so that equal ``(band, hash)`` land in the same partition.
3. ``bucket_edges``: inside one partition, documents sharing a ``(band, hash)``
   are linked. Without verification a bucket of k documents yields a chain of
   k-1 edges (enough for connected components); with verification it yields all
   pairs up to ``max_pairs`` members, else a star on its first member.

Documents are graph nodes named by a 64-bit hash of their ``uid`` (salted for
documents of an earlier corpus, so that a re-crawled page matches its old self).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from corpus.dedup.code_tokens import profile_shingle_hashes, table_profiles
from corpus.dedup.config import DedupConfig
from corpus.dedup.lsh import band_hashes
from corpus.dedup.minhash import signatures

OLD_SALT = b"earlier-corpus\0"
MINHASH_KEY = b"primer.minhash"  # schema metadata: the parameters of a ``minhash`` column


def node_ids(uids: list[str], salt: bytes = b"") -> np.ndarray:
    """uint64 node id of each uid (xxh64: two uids collide with probability 2^-64)."""
    return np.fromiter(
        (xxhash.xxh64_intdigest(salt + u.encode("utf-8", "surrogatepass")) for u in uids),
        dtype=np.uint64,
        count=len(uids),
    )


def minhash_tag(config: DedupConfig) -> str:
    """What band hashes depend on besides the text and its profile: stored beside
    precomputed bands so a run never reuses bands of other parameters."""
    return f"ngram={config.ngram} bands={config.bands} rows={config.rows} seed={config.seed}"


def text_bands(
    texts: list[str], profiles: list[str | None] | None, config: DedupConfig
) -> tuple[np.ndarray, np.ndarray]:
    """``(bands uint64[n, config.bands], has_shingles bool[n])`` of each text."""
    sh, off = profile_shingle_hashes(texts, config.ngram, profiles)
    sig = signatures(sh, off, config.num_perm, config.seed)
    # documents without a single word never match anything
    return band_hashes(sig, config.bands, config.rows), np.diff(off) > 0


def bands_array(bands: np.ndarray, valid: np.ndarray) -> pa.Array:
    """``FixedSizeList<uint64>[n_bands]`` per row, null where ``valid`` is false."""
    return pa.FixedSizeListArray.from_arrays(
        pa.array(bands.ravel()), bands.shape[1], mask=pa.array(~valid)
    )


def with_minhash(table: pa.Table, config: DedupConfig) -> pa.Table:
    """``table`` plus ``minhash``: the band hashes of each still-alive row (``drop_reason``
    null) with shingles, null elsewhere; tagged with ``minhash_tag`` in the schema.

    Ingest calls this where the text already is, so near dedup reads 14 integers per
    document instead of reading, shingling and hashing every text again.
    """
    alive = table.column("drop_reason").is_null().to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(alive)
    bands = np.zeros((table.num_rows, config.bands), dtype=np.uint64)
    valid = np.zeros(table.num_rows, dtype=bool)
    if len(idx):
        sub = table.take(pa.array(idx))
        texts = [t or "" for t in sub.column("text").to_pylist()]
        bands[idx], valid[idx] = text_bands(texts, table_profiles(sub), config)
    out = table.append_column("minhash", bands_array(bands, valid))
    return out.replace_schema_metadata(
        {**(table.schema.metadata or {}), MINHASH_KEY: minhash_tag(config)}
    )


def doc_bands(table: pa.Table, config: DedupConfig) -> pa.Table:
    """``uid, id, source_file, position, length, edu_score, node, bands`` per document with shingles."""
    texts = [t or "" for t in table.column("text").to_pylist()]
    bands, has = text_bands(texts, table_profiles(table), config)
    length = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return _doc_rows(table, np.flatnonzero(has), length, bands)


def doc_bands_precomputed(table: pa.Table) -> pa.Table:
    """``doc_bands`` from the ``minhash`` and ``n_chars`` ingest computed (no text)."""
    mh = table.column("minhash").combine_chunks()
    idx = np.flatnonzero(mh.is_valid().to_numpy(zero_copy_only=False))
    n_bands = mh.type.list_size
    # child values of every row, null rows' slots included (``flatten`` would drop them)
    values = mh.values.slice(mh.offset * n_bands, len(mh) * n_bands)
    bands = pc.fill_null(values, 0).to_numpy().reshape(-1, n_bands)
    length = pc.cast(table.column("n_chars"), pa.int64()).to_numpy(zero_copy_only=False)
    return _doc_rows(table, idx, length, bands.astype(np.uint64))


def _doc_rows(table: pa.Table, idx: np.ndarray, length: np.ndarray, bands: np.ndarray) -> pa.Table:
    take = pa.array(idx)
    uids = table.column("uid").to_pylist()
    if "edu_score" in table.column_names:
        score = pc.cast(table.column("edu_score"), pa.float64()).take(take)
    else:
        score = pa.nulls(len(idx), pa.float64())
    return pa.table(
        {
            "uid": table.column("uid").take(take),
            "id": pc.cast(table.column("id"), pa.string()).take(take),
            "source_file": pc.cast(table.column("source_file"), pa.string()).take(take),
            "position": pc.cast(table.column("position"), pa.int64()).take(take),
            "length": pa.array(length[idx]),
            "edu_score": score,
            "node": pa.array(node_ids([uids[i] for i in idx])),
            "bands": pa.FixedSizeListArray.from_arrays(
                pa.array(bands[idx].ravel()), bands.shape[1]
            ),
        }
    )


def band_rows(node: np.ndarray, bands: np.ndarray, partitions: int, old: bool = False) -> pa.Table:
    """``part, band, hash, node, old``: one row per document and band.

    ``bands`` is ``uint64[n_docs, n_bands]`` (or flat with ``node`` already repeated,
    see ``old_band_rows``). The partition mixes band and hash so that the 14 rows
    of a document scatter over partitions.
    """
    n_docs, n_bands = bands.shape
    band = np.tile(np.arange(n_bands, dtype=np.int16), n_docs)
    h = bands.ravel()
    return _rows(np.repeat(node, n_bands), band, h, partitions, old)


def old_band_rows(table: pa.Table, partitions: int) -> pa.Table:
    """Band rows of an earlier corpus's persisted ``uid, id, band, hash`` table."""
    node = node_ids(table.column("uid").to_pylist(), OLD_SALT)
    band = table.column("band").to_numpy().astype(np.int16)
    h = table.column("hash").to_numpy().astype(np.uint64)
    return _rows(node, band, h, partitions, True)


def _rows(
    node: np.ndarray, band: np.ndarray, h: np.ndarray, partitions: int, old: bool
) -> pa.Table:
    with np.errstate(over="ignore"):
        part = (
            (h ^ (band.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))) % np.uint64(partitions)
        ).astype(np.int32)
    return pa.table(
        {
            "part": part,
            "band": band,
            "hash": h,
            "node": node,
            "old": np.full(len(node), old),
        }
    )


EDGE_SCHEMA = pa.schema([("a", pa.uint64()), ("b", pa.uint64())])


def bucket_edges(table: pa.Table, max_pairs: int | None = None) -> pa.Table:
    """Edges ``a, b`` between documents sharing a ``(band, hash)`` in this partition.

    Buckets made only of earlier-corpus documents yield nothing (they were settled
    by the earlier run). ``max_pairs=None``: chain edges (k-1 per bucket);
    otherwise all pairs in buckets of up to ``max_pairs`` members and a star
    elsewhere (for verification, where each edge is checked on its own).
    """
    band = table.column("band").to_numpy()
    h = table.column("hash").to_numpy()
    node = table.column("node").to_numpy()
    old = table.column("old").to_numpy(zero_copy_only=False)
    order = np.lexsort((node, h, band))
    band, h, node, old = band[order], h[order], node[order], old[order]
    if len(node) < 2:
        return EDGE_SCHEMA.empty_table()
    new_key = np.concatenate(([True], (band[1:] != band[:-1]) | (h[1:] != h[:-1])))
    starts = np.flatnonzero(new_key)
    sizes = np.diff(np.append(starts, len(node)))
    any_new = np.logical_or.reduceat(~old, starts)
    live = (sizes > 1) & any_new
    if not live.any():
        return EDGE_SCHEMA.empty_table()
    if max_pairs is None:
        bucket_of = np.repeat(live, sizes)
        same = bucket_of[1:] & ~new_key[1:]
        a, b = node[:-1][same], node[1:][same]
    else:
        a, b = _bucket_pairs(node, starts[live], sizes[live], max_pairs)
    a, b = np.minimum(a, b), np.maximum(a, b)
    ab = np.unique(np.stack([a, b], axis=1), axis=0)
    return pa.table({"a": ab[:, 0], "b": ab[:, 1]}, schema=EDGE_SCHEMA)


def _bucket_pairs(
    node: np.ndarray, starts: np.ndarray, sizes: np.ndarray, max_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair within buckets of up to ``max_pairs`` members, a star from the first
    member in bigger ones. Buckets of one size at a time: a web run has tens of
    thousands of buckets but few sizes, so NumPy sees a handful of calls, not one per bucket."""
    pairs_a, pairs_b = [np.empty(0, node.dtype)], [np.empty(0, node.dtype)]
    small = sizes <= max_pairs
    for k in np.unique(sizes[small]).tolist():
        i, j = np.triu_indices(k, 1)
        s = starts[small & (sizes == k)][:, None]
        pairs_a.append(node[s + i].ravel())
        pairs_b.append(node[s + j].ravel())
    big_starts, big_sizes = starts[~small], sizes[~small]
    pairs_a.append(np.repeat(node[big_starts], big_sizes - 1))
    rest = np.ones(int(big_sizes.sum()), dtype=bool)  # every member but each bucket's first
    rest[np.cumsum(big_sizes) - big_sizes] = False
    members = np.repeat(big_starts - np.cumsum(big_sizes) + big_sizes, big_sizes)
    pairs_b.append(node[members + np.arange(len(members))][rest])
    return np.concatenate(pairs_a), np.concatenate(pairs_b)
