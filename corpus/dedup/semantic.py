"""Semantic deduplication over document embeddings (SemDeDup-style), NumPy only.

MinHash finds copies that share words; pages that say the same thing in other
words (mirrors with rewritten boilerplate, templated product pages) survive it.
The classify stage already embeds every document, so this step reuses those
vectors: spherical k-means groups them, and inside each cluster documents are
visited in input order and dropped when their cosine similarity to an earlier
*kept* document exceeds ``threshold`` (the kept one is recorded as
``duplicate_of``). Comparing only within clusters makes the cost about
``n^2 / n_clusters`` dot products instead of ``n^2``; a pair split across two
clusters is missed, the price SemDeDup pays too.

The input is a ``(uids, embeddings)`` pair, so the pipeline step
(``pipelines/steps/semantic_dedup.py``) is a thin wrapper: read the kept documents'
uids and vectors, call ``semantic_dedup``, write the drops to the ledger as
``drop_stage = 'semantic-dedup'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from corpus.config_base import Section


class SemanticDedupConfig(Section):
    """``dedup.semantic``: off by default; a step after classify (``pipelines/steps``)
    that reuses the classifier's embeddings or embeds the survivors itself."""

    enabled: bool = Field(False, description="Drop near-identical meanings by embedding cosine.")
    threshold: float = Field(
        0.95,
        gt=0,
        le=1,
        description="Cosine above which a document duplicates an earlier kept one (0.9: more drops).",
    )
    n_clusters: int | None = Field(
        None,
        ge=1,
        description="k-means clusters compared separately; null: about sqrt(n / 4), at least 1.",
    )
    iterations: int = Field(20, ge=1, le=1000, description="k-means iterations at most.")
    seed: int = Field(0, description="Seed of the k-means initialisation (results are repeatable).")


@dataclass(frozen=True)
class SemanticDuplicate:
    uid: str  # the dropped document
    duplicate_of: str  # the earlier kept document it is most similar to
    similarity: float  # their cosine similarity
    cluster: int  # k-means cluster both belong to


def normalise(embeddings: np.ndarray) -> np.ndarray:
    """Unit rows (float32); an all-zero row stays zero (similar to nothing)."""
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (n, dim), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def kmeans(x: np.ndarray, k: int, iterations: int = 20, seed: int = 0) -> np.ndarray:
    """Spherical k-means (unit rows, cosine): the cluster id of every row.

    Initialised with k-means++ on cosine distance; stops early when no row moves.
    """
    n = len(x)
    k = max(1, min(int(k), n))
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    centres = np.empty((k, x.shape[1]), dtype=np.float32)
    centres[0] = x[rng.integers(n)]
    dist = 1.0 - x @ centres[0]
    for i in range(1, k):
        p = np.clip(dist, 0, None)
        total = p.sum()
        j = rng.choice(n, p=p / total) if total > 0 else rng.integers(n)
        centres[i] = x[j]
        dist = np.minimum(dist, 1.0 - x @ centres[i])
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(iterations):
        new = np.argmax(x @ centres.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centres = np.where(empty[:, None], centres, sums / np.where(norms > 0, norms, 1.0))
    return labels


def _dedup_cluster(x: np.ndarray, threshold: float, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Within one cluster (rows in input order): for each row, the kept row it duplicates
    (-1 if kept) and that similarity. Blocks of ``block`` rows bound memory."""
    n = len(x)
    dup_of = np.full(n, -1, dtype=np.int64)
    best = np.zeros(n, dtype=np.float32)
    kept: list[int] = []
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        # against documents kept in earlier blocks: one matrix product
        if kept:
            k_idx = np.asarray(kept)
            s = x[rows] @ x[k_idx].T
            j = np.argmax(s, axis=1)
            hit = s[np.arange(len(rows)), j] > threshold
            dup_of[rows[hit]] = k_idx[j[hit]]
            best[rows[hit]] = s[np.arange(len(rows)), j][hit]
        # inside the block, in order: a row is compared with the rows kept before it
        inner = x[rows] @ x[rows].T
        alive = dup_of[rows] < 0
        for a in range(len(rows)):
            if not alive[a]:
                continue
            prev = np.flatnonzero(alive[:a])
            if len(prev):
                s = inner[a, prev]
                j = int(np.argmax(s))
                if s[j] > threshold:
                    alive[a] = False
                    dup_of[rows[a]] = rows[prev[j]]
                    best[rows[a]] = s[j]
                    continue
            kept.append(int(rows[a]))
    return dup_of, best


def default_clusters(n: int) -> int:
    return max(1, int(round(np.sqrt(n / 4))))


def semantic_dedup(
    uids: Sequence[str],
    embeddings: np.ndarray,
    threshold: float = 0.95,
    n_clusters: int | None = None,
    *,
    iterations: int = 20,
    seed: int = 0,
    block: int = 2048,
) -> list[SemanticDuplicate]:
    """The documents to drop: each with the earlier kept document it duplicates.

    ``uids[i]`` names row ``i`` of ``embeddings``; "earlier" is input order, so
    pass documents in the order the pipeline prefers to keep them.
    """
    if len(uids) != len(embeddings):
        raise ValueError(f"{len(uids)} uids but {len(embeddings)} embedding rows")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    if len(uids) == 0:
        return []
    x = normalise(embeddings)
    k = default_clusters(len(x)) if n_clusters is None else n_clusters
    labels = kmeans(x, k, iterations, seed)
    out: list[SemanticDuplicate] = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)  # ascending: input order
        if len(members) < 2:
            continue
        dup_of, sim = _dedup_cluster(x[members], threshold, block)
        for i in np.flatnonzero(dup_of >= 0):
            out.append(
                SemanticDuplicate(
                    uid=str(uids[members[i]]),
                    duplicate_of=str(uids[members[dup_of[i]]]),
                    similarity=float(sim[i]),
                    cluster=int(c),
                )
            )
    order = {str(u): i for i, u in enumerate(uids)}
    return sorted(out, key=lambda d: order[d.uid])
