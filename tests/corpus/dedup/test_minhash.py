import math

import numpy as np
import pytest
from datasketch import MinHash

from corpus.dedup.lsh import band_hashes, candidate_probability, threshold
from corpus.dedup.minhash import EMPTY, estimate_jaccard, permutations, signatures

NUM_PERM = 112


def pair_with_jaccard(
    rng: np.random.Generator, j: float, size: int = 600
) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of random 64-bit hashes with Jaccard exactly ``shared / (shared + 2*own)``."""
    shared = round(size * 2 * j / (1 + j))
    own = size - shared
    pool = rng.integers(0, 2**64, size=shared + 2 * own, dtype=np.uint64)
    return pool[: shared + own], np.concatenate([pool[:shared], pool[shared + own :]])


def true_j(a: np.ndarray, b: np.ndarray) -> float:
    return len(np.intersect1d(a, b)) / len(np.union1d(a, b))


def sig_of(*sets: np.ndarray, num_perm: int = NUM_PERM, seed: int = 1) -> np.ndarray:
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in sets])))
    return signatures(np.concatenate(sets), offsets, num_perm, seed)


def datasketch_estimate(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = MinHash(num_perm=NUM_PERM, seed=1), MinHash(num_perm=NUM_PERM, seed=1)
    ma.update_batch([x.tobytes() for x in a])
    mb.update_batch([x.tobytes() for x in b])
    return ma.jaccard(mb)


def test_batch_signature_equals_single_and_handles_empty_docs():
    rng = np.random.default_rng(0)
    sets = [rng.integers(0, 2**64, size=n, dtype=np.uint64) for n in (5, 0, 3000, 1, 0, 700)]
    batch = signatures(
        np.concatenate(sets), np.concatenate(([0], np.cumsum([len(s) for s in sets]))), chunk=1000
    )
    for i, s in enumerate(sets):
        assert np.array_equal(batch[i], sig_of(s)[0] if len(s) else np.full(NUM_PERM, EMPTY))
    # The minimum does not depend on order or repeats.
    assert np.array_equal(
        sig_of(sets[2])[0], sig_of(np.concatenate([sets[2][::-1], sets[2][:10]]))[0]
    )


def test_signature_matches_brute_force_definition():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 2**64, size=50, dtype=np.uint64)
    a, b = permutations(8, seed=3)
    keys = [int(x) >> 32 for x in s]
    expect = [
        min(((int(ai) * k + int(bi)) % 2**64) >> 32 for k in keys)
        for ai, bi in zip(a[:, 0], b[:, 0], strict=True)
    ]
    assert sig_of(s, num_perm=8, seed=3)[0].tolist() == expect


def test_seed_changes_permutations():
    s = np.arange(1, 500, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert not np.array_equal(sig_of(s, seed=1), sig_of(s, seed=2))


@pytest.mark.parametrize("j", [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.97])
def test_estimates_agree_with_true_jaccard_and_datasketch(j):
    rng = np.random.default_rng(int(j * 100))
    sigma = math.sqrt(j * (1 - j) / NUM_PERM) + 1e-3
    ours, theirs, truth = [], [], []
    for _ in range(20):
        a, b = pair_with_jaccard(rng, j)
        sig = sig_of(a, b)
        ours.append(estimate_jaccard(sig[0], sig[1]))
        theirs.append(datasketch_estimate(a, b))
        truth.append(true_j(a, b))
    ours, theirs, truth = map(np.array, (ours, theirs, truth))
    # Each estimate within 4.5 sigma of the truth; the mean error within 4 sigma / sqrt(20).
    assert np.all(np.abs(ours - truth) < 4.5 * sigma)
    assert abs(np.mean(ours - truth)) < 4 * sigma / math.sqrt(len(truth))
    # Same spread as datasketch's sketch (both are unbiased with variance J(1-J)/num_perm).
    assert abs(np.mean(ours) - np.mean(theirs)) < 4 * sigma * math.sqrt(2 / len(truth))


def test_band_hashes_follow_band_contents():
    rng = np.random.default_rng(2)
    sig = rng.integers(0, 2**32, size=(2, 112), dtype=np.uint32)
    sig[1] = sig[0]
    sig[1, 9] ^= 1  # row 1 of band 1 differs
    bh = band_hashes(sig, 14, 8)
    assert bh.shape == (2, 14) and bh.dtype == np.uint64
    assert (bh[0] == bh[1]).tolist() == [k != 1 for k in range(14)]
    swapped = sig[:1].copy()
    swapped[0, [0, 1]] = swapped[0, [1, 0]]
    assert band_hashes(swapped, 14, 8)[0, 0] != bh[0, 0]  # order within a band matters
    with pytest.raises(ValueError):
        band_hashes(sig, 10, 8)


def test_banding_s_curve_matches_theory():
    rng = np.random.default_rng(3)
    bands, rows, n_pairs = 14, 8, 250
    for j in (0.5, 0.7, 0.8, 0.9):
        sets = [s for _ in range(n_pairs) for s in pair_with_jaccard(rng, j, size=300)]
        bh = band_hashes(sig_of(*sets), bands, rows)
        hit = np.any(bh[0::2] == bh[1::2], axis=1).mean()
        p = candidate_probability(j, bands, rows)
        assert abs(hit - p) < 4 * math.sqrt(p * (1 - p) / n_pairs) + 0.01, (j, hit, p)
    assert 0.7 < threshold(14, 8) < 0.75
