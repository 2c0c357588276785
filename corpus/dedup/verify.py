"""Verification of candidate pairs by true Jaccard on shingles, as pure table functions.

LSH pairs are candidates: with 14 x 8 bands a pair at Jaccard 0.6 still collides
with probability ~0.2. Verification recomputes the shingle sets of candidate
documents only and keeps an edge when its true Jaccard reaches the threshold.

Edges are partitioned by connected component of the candidate graph, so a
document's shingle set travels once, to the one partition holding all its edges
(a "slot"), not once per edge: on web text a candidate document has ~6 edges (up
to hundreds for pages sharing boilerplate), and shipping a set per edge made the
shuffle 15x the size of the sets. Each edge rides in the slot of its first
endpoint, so a partition's rows carry everything its check needs. Components too
big for one partition are spread by each edge's smaller endpoint; their documents
then have a slot in each partition they reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from corpus.dedup.candidates import node_ids
from corpus.dedup.code_tokens import profile_shingle_hashes, table_profiles
from corpus.dedup.unionfind import connected_components

EDGE_JACCARD_SCHEMA = pa.schema([("edge", pa.int64()), ("jaccard", pa.float64())])
_QUERY_CHUNK = 1 << 22  # shingles looked up at once in `intersections` (~100 MB of temporaries)


def edge_partitions(
    a: np.ndarray, b: np.ndarray, partitions: int, min_split: int = 4096
) -> np.ndarray:
    """Partition of each edge ``a[i]-b[i]``: a connected component stays in one
    partition unless it has over ``min_split`` nodes and twice a partition's share."""
    m = len(a)
    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    label = connected_components(len(nodes), inv[:m], inv[m:])
    size = np.bincount(label, minlength=len(nodes))
    cap = max(2 * -(-len(nodes) // partitions), min_split)
    part = (label[inv[:m]] % partitions).astype(np.int64)
    big = size[label[inv[:m]]] > cap
    part[big] = (np.minimum(a[big], b[big]) % np.uint64(partitions)).astype(np.int64)
    return part


@dataclass(frozen=True)
class Slots:
    """One slot per (document node, partition) an edge puts it in, sorted by node.

    ``edges[edge_offsets[s]:edge_offsets[s + 1]]`` are the edges slot ``s`` carries
    (those whose first endpoint is its node, in its partition); ``others`` their
    second endpoints.
    """

    node: np.ndarray
    part: np.ndarray
    edge_offsets: np.ndarray
    edges: np.ndarray
    others: np.ndarray

    @classmethod
    def build(cls, a: np.ndarray, b: np.ndarray, edge_part: np.ndarray) -> Slots:
        m = len(a)
        ends = np.concatenate([a, b])
        part = np.concatenate([edge_part, edge_part])
        edge = np.concatenate([np.arange(m), np.full(m, -1)])  # only the first end carries it
        order = np.lexsort((part, ends))
        ends, part, edge = ends[order], part[order], edge[order]
        new = np.ones(len(ends), dtype=bool)
        new[1:] = (ends[1:] != ends[:-1]) | (part[1:] != part[:-1])
        slot = np.cumsum(new) - 1
        carried = edge >= 0
        counts = np.bincount(slot[carried], minlength=int(new.sum()))
        return cls(
            node=ends[new],
            part=part[new],
            edge_offsets=np.concatenate(([0], np.cumsum(counts))),
            edges=edge[carried],
            others=b[edge[carried]],
        )


def slot_rows(table: pa.Table, slots: Slots, ngram: int) -> pa.Table:
    """``part, node, shingles, edge, other``: one row per slot of the candidate documents of ``table``.

    ``shingles`` is the document's sorted unique shingle hashes; ``edge, other``
    the lists of edges the slot carries and their second endpoints.
    """
    node = node_ids(table.column("uid").to_pylist())
    lo = np.searchsorted(slots.node, node, side="left")
    hi = np.searchsorted(slots.node, node, side="right")
    hit = np.flatnonzero(hi > lo)
    docs = table.take(pa.array(hit))
    texts = [t or "" for t in docs.column("text").to_pylist()]
    sh, off = profile_shingle_hashes(texts, ngram, table_profiles(docs))
    sets = [np.unique(sh[off[k] : off[k + 1]]) for k in range(len(hit))]
    n_slots = (hi - lo)[hit]
    slot = _ranges(lo[hit], n_slots)
    per_slot = [s for s, n in zip(sets, n_slots.tolist(), strict=True) for _ in range(n)]
    starts, ends = slots.edge_offsets[slot], slots.edge_offsets[slot + 1]
    take = _ranges(starts, ends - starts)
    return pa.table(
        {
            "part": slots.part[slot].astype(np.int32),
            "node": slots.node[slot],
            "shingles": _list_array(per_slot, np.uint64),
            "edge": pa.ListArray.from_arrays(_offsets(ends - starts), slots.edges[take]),
            "other": pa.ListArray.from_arrays(_offsets(ends - starts), slots.others[take]),
        }
    )


def edge_jaccards(table: pa.Table) -> pa.Table:
    """``edge, jaccard`` for every edge carried by ``table`` whose second document is in it too."""
    if not table.num_rows:
        return EDGE_JACCARD_SCHEMA.empty_table()
    node = table.column("node").to_numpy()
    by_node = np.argsort(node)
    sorted_node = node[by_node]
    edge_list = table.column("edge").combine_chunks()
    edge = edge_list.flatten().to_numpy()
    first = np.repeat(np.arange(table.num_rows), np.diff(edge_list.offsets.to_numpy()))
    other = table.column("other").combine_chunks().flatten().to_numpy()
    pos = np.minimum(np.searchsorted(sorted_node, other), len(node) - 1)
    found = sorted_node[pos] == other  # else the other end is an earlier corpus's
    edge, first, second = edge[found], first[found], by_node[pos[found]]
    sets = table.column("shingles").combine_chunks()
    offsets = sets.offsets.to_numpy().astype(np.int64)
    offsets -= offsets[0]
    inter = intersections(sets.flatten().to_numpy(), offsets, first, second)
    lens = np.diff(offsets)
    union = lens[first] + lens[second] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, inter / np.maximum(union, 1), 1.0)  # two empty sets: 1.0
    return pa.table({"edge": pa.array(edge, pa.int64()), "jaccard": pa.array(jac, pa.float64())})


def intersections(values: np.ndarray, offsets: np.ndarray, x: np.ndarray, y: np.ndarray):
    """``|S[x[i]] & S[y[i]]|`` for sets given as sorted unique slices ``values[offsets[r]:offsets[r + 1]]``.

    Vectorised: shingles become dense ranks, each row's ``row * n + rank`` keys are
    one globally sorted array, and the smaller set of each pair is looked up in the
    larger one's keys by binary search, in chunks of bounded size.
    """
    lens = np.diff(offsets)
    uniq, rank = np.unique(values, return_inverse=True)
    n = max(len(uniq), 1)
    keys = np.repeat(np.arange(len(lens), dtype=np.int64), lens) * n + rank
    swap = lens[x] > lens[y]
    q, t = np.where(swap, y, x), np.where(swap, x, y)
    qlen = lens[q]
    out = np.zeros(len(x), dtype=np.int64)
    if not len(keys):
        return out
    bounds = np.concatenate(([0], np.cumsum(qlen)))
    i = 0
    while i < len(q):
        j = max(int(np.searchsorted(bounds, bounds[i] + _QUERY_CHUNK, side="right")) - 1, i + 1)
        take = _ranges(offsets[q[i:j]], qlen[i:j])
        probe = np.repeat(t[i:j], qlen[i:j]) * n + rank[take]
        pos = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
        hits = np.concatenate(([0], np.cumsum(keys[pos] == probe)))
        ends = np.cumsum(qlen[i:j])
        out[i:j] = hits[ends] - hits[ends - qlen[i:j]]
        i = j
    return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(starts[k], starts[k] + lengths[k])``."""
    total = int(lengths.sum())
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return (np.arange(total) + shift).astype(np.int64)


def _offsets(lengths: np.ndarray) -> pa.Array:
    return pa.array(np.concatenate(([0], np.cumsum(lengths))).astype(np.int32))


def _list_array(arrays: list[np.ndarray], dtype) -> pa.ListArray:
    lens = np.array([len(s) for s in arrays], dtype=np.int64)
    flat = np.concatenate(arrays).astype(dtype) if arrays else np.empty(0, dtype)
    return pa.ListArray.from_arrays(_offsets(lens), pa.array(flat))
