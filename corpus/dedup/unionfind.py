"""Array-based union-find over integer node ids ``0..n-1``: connected components of an edge list.

Memory is two int arrays of ``n`` (parent, rank); callers compact node ids to
the nodes that appear in edges, so ``n`` is bounded by the number of
candidate-pair endpoints, not by the corpus size.
"""

from __future__ import annotations

import numpy as np


class UnionFind:
    """Union by rank + path compression (iterative, no recursion limit)."""

    def __init__(self, n: int):
        self.parent = np.arange(n, dtype=np.int64)
        self.rank = np.zeros(n, dtype=np.int8)

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return int(root)

    def union(self, x: int, y: int) -> bool:
        """Merge the sets of ``x`` and ``y``; False when they were already one."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return False
        if self.rank[rx] < self.rank[ry]:
            rx, ry = ry, rx
        self.parent[ry] = rx
        if self.rank[rx] == self.rank[ry]:
            self.rank[rx] += 1
        return True

    def union_edges(self, a: np.ndarray, b: np.ndarray) -> None:
        # .tolist() makes the per-edge loop iterate Python ints, ~3x faster than NumPy scalars.
        for x, y in zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True):
            self.union(x, y)

    def roots(self) -> np.ndarray:
        """Root of every node (fully compressed, vectorised)."""
        p = self.parent
        while True:
            q = p[p]
            if np.array_equal(q, p):
                break
            p = q
        self.parent = p
        return p.copy()


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (the smallest node id in it) for each node, given edges ``a[i]-b[i]``."""
    uf = UnionFind(n)
    uf.union_edges(a, b)
    roots = uf.roots()
    # Relabel each component by its smallest member: independent of union order.
    smallest = np.full(n, n, dtype=np.int64)
    np.minimum.at(smallest, roots, np.arange(n, dtype=np.int64))
    return smallest[roots]
