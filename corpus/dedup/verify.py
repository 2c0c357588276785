"""Verification of candidate pairs by true Jaccard on shingles, as pure table functions.

LSH pairs are candidates: with 14 x 8 bands a pair at Jaccard 0.6 still collides
with probability ~0.2. Verification recomputes the shingle sets of candidate
documents only and keeps an edge when its true Jaccard reaches the threshold.
Each candidate document's shingles travel once per incident edge to the
partition of that edge (a shuffle keyed by edge id), so no worker ever holds
more than its partition's pairs.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpus.dedup.candidates import node_ids
from corpus.dedup.code_tokens import profile_shingle_hashes, table_profiles
from corpus.dedup.shingles import jaccard

EDGE_JACCARD_SCHEMA = pa.schema([("edge", pa.int64()), ("jaccard", pa.float64())])


def incidence(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of node -> incident edge ids: ``(nodes sorted, offsets, edge ids)``."""
    ends = np.concatenate([a, b])
    edge = np.concatenate([np.arange(len(a)), np.arange(len(b))])
    order = np.argsort(ends, kind="stable")
    nodes, counts = np.unique(ends[order], return_counts=True)
    return nodes, np.concatenate(([0], np.cumsum(counts))), edge[order]


def edge_shingle_rows(
    table: pa.Table, csr: tuple[np.ndarray, np.ndarray, np.ndarray], ngram: int, partitions: int
) -> pa.Table:
    """``part, edge, shingles``: one row per (candidate document of ``table``, incident edge)."""
    nodes, offsets, edges = csr
    node = node_ids(table.column("uid").to_pylist())
    pos = np.minimum(np.searchsorted(nodes, node), len(nodes) - 1)
    hit = np.flatnonzero(nodes[pos] == node) if len(nodes) else np.empty(0, np.int64)
    texts = table.column("text").take(pa.array(hit)).to_pylist()
    profiles = table_profiles(table.take(pa.array(hit)))
    sh, off = profile_shingle_hashes([t or "" for t in texts], ngram, profiles)
    out_edge, out_sets = [], []
    for k, i in enumerate(hit.tolist()):
        s = np.unique(sh[off[k] : off[k + 1]])
        p = pos[i]
        for e in edges[offsets[p] : offsets[p + 1]].tolist():
            out_edge.append(e)
            out_sets.append(s)
    edge_arr = np.array(out_edge, dtype=np.int64)
    flat = np.concatenate(out_sets) if out_sets else np.empty(0, np.uint64)
    lens = np.array([len(s) for s in out_sets], dtype=np.int32)
    shingles = pa.ListArray.from_arrays(
        pa.array(np.concatenate(([0], np.cumsum(lens))).astype(np.int32)), pa.array(flat)
    )
    return pa.table(
        {"part": (edge_arr % partitions).astype(np.int32), "edge": edge_arr, "shingles": shingles}
    )


def edge_jaccards(table: pa.Table) -> pa.Table:
    """``edge, jaccard`` for every edge whose two documents are both in ``table``."""
    edge = table.column("edge").to_numpy()
    order = np.argsort(edge, kind="stable")
    edge = edge[order]
    sets = table.column("shingles").take(pa.array(order))
    out_e, out_j = [], []
    i = 0
    while i + 1 < len(edge):
        if edge[i] == edge[i + 1]:
            a = sets[i].values.to_numpy()
            b = sets[i + 1].values.to_numpy()
            out_e.append(int(edge[i]))
            out_j.append(jaccard(a, b))
            i += 2
        else:
            i += 1
    return pa.table({"edge": pa.array(out_e, pa.int64()), "jaccard": pa.array(out_j, pa.float64())})
