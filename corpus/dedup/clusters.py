"""Clusters and the keep policy: from candidate edges to one decision per document.

Memory is O(nodes + edges) of the candidate graph only: node ids are compacted
to ``0..n-1`` over the endpoints of the edges, so documents without any
candidate pair cost nothing here.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.dedup.unionfind import connected_components

DROPS_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("dup_cluster", pa.string()),
        ("duplicate_of", pa.string()),
        ("drop_reason", pa.string()),
    ]
)
CLUSTERS_SCHEMA = pa.schema(
    [("uid", pa.string()), ("dup_cluster", pa.string()), ("kept", pa.bool_())]
)


def keep_order(attrs: pa.Table, keep: str) -> np.ndarray:
    """Rank of every node (0 = preferred survivor) under the keep policy.

    Documents of an earlier corpus always come first (they are already
    published); ties fall back to the stable ``(source_file, position, uid)``.
    """
    keys = [("is_new", "ascending")]
    if keep == "longest":
        keys.append(("length", "descending"))
    elif keep == "highest_score":
        keys.append(("edu_score", "descending"))
    elif keep != "first":
        raise ValueError(f"unknown keep policy {keep!r}")
    keys += [("source_file", "ascending"), ("position", "ascending"), ("uid", "ascending")]
    t = attrs.append_column("is_new", pc.invert(attrs.column("old")))
    order = pc.sort_indices(t, sort_keys=[(k, o, "at_end") for k, o in keys]).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def resolve(
    a: np.ndarray, b: np.ndarray, attrs: pa.Table, keep: str = "first"
) -> tuple[pa.Table, pa.Table, dict]:
    """Decide every document of the candidate graph.

    ``a, b``: uint64 node ids of the edges; ``attrs``: one row per node with
    ``node, uid, id, source_file, position, length, edu_score, old``.
    Returns ``(drops, clusters, stats)``: one drop row per dropped (new) document,
    one cluster row per new document in a multi-member cluster, and counts.
    """
    nodes = attrs.column("node").to_numpy()
    sort = np.argsort(nodes)
    attrs = attrs.take(pa.array(sort))
    nodes = nodes[sort]
    if len(np.unique(nodes)) != len(nodes):
        raise ValueError("attrs has duplicate nodes")
    ai, bi = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
    if len(a) and (
        ai.max() >= len(nodes)
        or np.any(nodes[ai] != a)
        or np.any(nodes[np.minimum(bi, len(nodes) - 1)] != b)
    ):
        raise ValueError("an edge names a node missing from attrs")
    labels = connected_components(len(nodes), ai, bi)
    rank = keep_order(attrs, keep)
    best = np.full(len(nodes), len(nodes), dtype=np.int64)
    np.minimum.at(best, labels, rank)
    by_rank = np.argsort(rank)
    kept_of = by_rank[best[labels]]  # the survivor of each node's cluster
    sizes = np.bincount(labels, minlength=len(nodes))
    multi = sizes[labels] > 1
    new = ~attrs.column("old").to_numpy(zero_copy_only=False)
    uid = attrs.column("uid")
    ids = attrs.column("id")
    dropped = np.flatnonzero(new & multi & (kept_of != np.arange(len(nodes))))
    members = np.flatnonzero(new & multi)
    drops = pa.table(
        {
            "uid": uid.take(pa.array(dropped)),
            "dup_cluster": uid.take(pa.array(kept_of[dropped])),
            "duplicate_of": ids.take(pa.array(kept_of[dropped])),
            "drop_reason": pa.array(["near-duplicate"] * len(dropped), pa.string()),
        },
        schema=DROPS_SCHEMA,
    )
    clusters = pa.table(
        {
            "uid": uid.take(pa.array(members)),
            "dup_cluster": uid.take(pa.array(kept_of[members])),
            "kept": pa.array(kept_of[members] == members),
        },
        schema=CLUSTERS_SCHEMA,
    )
    stats = {
        "graph_nodes": int(len(nodes)),
        "graph_edges": int(len(a)),
        "clusters": int(len(np.unique(labels[multi]))),
        "dropped": int(len(dropped)),
        "dropped_for_earlier_corpus": int(np.sum(~new[kept_of[dropped]])),
        # What the single-node step holds: edges (2 x uint64 + 2 x int64 compacted),
        # per-node parent/rank/labels/rank arrays; attributes excluded.
        "graph_bytes": int(len(a) * 32 + len(nodes) * 41),
    }
    return drops, clusters, stats
