"""Semantic dedup: k-means clusters, then greedy drops against earlier kept documents."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from corpus.dedup.semantic import (
    SemanticDedupConfig,
    kmeans,
    normalise,
    semantic_dedup,
)


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _brute_force(x: np.ndarray, threshold: float) -> dict[int, int]:
    """Reference: visit rows in order, drop a row similar to a kept earlier one."""
    x = normalise(x)
    kept, drops = [], {}
    for i in range(len(x)):
        sims = [(float(x[i] @ x[j]), j) for j in kept]
        best = max(sims, default=(-2.0, -1))
        if best[0] > threshold:
            drops[i] = best[1]
        else:
            kept.append(i)
    return drops


def test_copies_and_paraphrases_are_dropped_against_the_first():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(50, 32))
    near = base[:5] + 0.01 * rng.normal(size=(5, 32))  # cosine ~0.9999 to their originals
    emb = np.vstack([base, near, base[7:8]])
    uids = [f"d{i}" for i in range(len(emb))]
    drops = semantic_dedup(uids, emb, threshold=0.95, n_clusters=4)
    got = {d.uid: d.duplicate_of for d in drops}
    assert got == {"d50": "d0", "d51": "d1", "d52": "d2", "d53": "d3", "d54": "d4", "d55": "d7"}
    assert all(d.similarity > 0.95 for d in drops)


def test_only_kept_documents_absorb_others():
    # a ~ b and b ~ c above the threshold, a and c below: b goes (dup of a), c stays
    a = _unit([1.0, 0.0])
    b = _unit([np.cos(0.3), np.sin(0.3)])
    c = _unit([np.cos(0.6), np.sin(0.6)])
    t = float(np.cos(0.35))
    drops = semantic_dedup(["a", "b", "c"], np.vstack([a, b, c]), threshold=t, n_clusters=1)
    assert [(d.uid, d.duplicate_of) for d in drops] == [("b", "a")]


@pytest.mark.parametrize("block", [3, 2048])
def test_one_cluster_matches_brute_force(block):
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(6, 16))
    emb = np.repeat(centres, 10, axis=0) + 0.3 * rng.normal(size=(60, 16))
    emb = emb[rng.permutation(60)]
    for t in (0.95, 0.9, 0.8):
        ref = _brute_force(emb, t)
        drops = semantic_dedup([str(i) for i in range(60)], emb, t, n_clusters=1, block=block)
        assert {int(d.uid): int(d.duplicate_of) for d in drops} == ref
        assert ref, "the fixture must contain duplicates at every threshold"


def test_lower_threshold_drops_more_and_results_repeat():
    rng = np.random.default_rng(3)
    noise = rng.uniform(0.1, 0.8, size=(400, 1)) * rng.normal(size=(400, 24))
    emb = noise + np.repeat(rng.normal(size=(20, 24)), 20, axis=0)
    uids = [f"u{i}" for i in range(400)]
    hi = semantic_dedup(uids, emb, 0.95)
    lo = semantic_dedup(uids, emb, 0.9)
    assert len(lo) > len(hi) > 0
    assert semantic_dedup(uids, emb, 0.9) == lo
    # output in input order, never a document as its own duplicate
    pos = [int(d.uid[1:]) for d in lo]
    assert pos == sorted(pos)
    assert all(int(d.duplicate_of[1:]) < int(d.uid[1:]) for d in lo)


def test_kmeans_separates_clear_groups():
    rng = np.random.default_rng(0)
    a = np.array([1.0, 0, 0]) + 0.05 * rng.normal(size=(30, 3))
    b = np.array([0, 1.0, 0]) + 0.05 * rng.normal(size=(30, 3))
    labels = kmeans(normalise(np.vstack([a, b])), 2)
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1
    assert labels[0] != labels[30]


def test_zero_vectors_and_edge_cases():
    emb = np.zeros((3, 4))
    assert semantic_dedup(["a", "b", "c"], emb, 0.9) == []  # zero rows are similar to nothing
    assert semantic_dedup([], np.zeros((0, 4))) == []
    assert semantic_dedup(["a"], np.ones((1, 4))) == []
    with pytest.raises(ValueError, match="2 uids but 3"):
        semantic_dedup(["a", "b"], np.ones((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        semantic_dedup(["a", "b"], np.array([[1.0, np.nan], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="threshold"):
        semantic_dedup(["a", "b"], np.ones((2, 4)), threshold=1.5)


def test_config_validates():
    cfg = SemanticDedupConfig()
    assert cfg.enabled is False and cfg.threshold == 0.95 and cfg.n_clusters is None
    assert SemanticDedupConfig(threshold=0.9, n_clusters=8).n_clusters == 8
    for bad in ({"threshold": 0}, {"threshold": 1.2}, {"n_clusters": 0}, {"colour": 1}):
        with pytest.raises(ValidationError):
            SemanticDedupConfig(**bad)
