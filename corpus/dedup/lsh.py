"""LSH banding: one uint64 hash per band per document.

Two documents become candidates when all ``rows`` values of some band are
equal; with Jaccard ``s`` that happens with probability
``1 - (1 - s^rows)^bands`` (the S-curve). 14 bands x 8 rows puts the curve's
midpoint near 0.72 and catches 0.8-similar pairs with probability ~0.92, 0.85
with ~0.99 (FineWeb's setting).
"""

from __future__ import annotations

import numpy as np

from corpus.dedup.shingles import fmix64

U64 = np.uint64
# Odd multipliers, one per row of a band (rows <= 32).
_ROW_MULT = (
    np.random.default_rng(0x15B).integers(0, 2**63, size=32, dtype=np.uint64) << U64(1)
) | U64(1)


def band_hashes(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``uint64[n_docs, bands]``: band ``k`` hashes signature columns ``k*rows:(k+1)*rows``.

    Different band contents collide with probability ~2^-64. The band index is
    not mixed in: callers group on ``(band, hash)``.
    """
    if sigs.shape[1] != bands * rows:
        raise ValueError(
            f"signature has {sigs.shape[1]} values, expected bands*rows = {bands * rows}"
        )
    if rows > len(_ROW_MULT):
        raise ValueError(f"rows {rows} > {len(_ROW_MULT)} is not supported")
    v = sigs.astype(U64).reshape(len(sigs), bands, rows)
    with np.errstate(over="ignore"):
        acc = np.zeros((len(sigs), bands), dtype=U64)
        for r in range(rows):
            acc = fmix64(acc + v[:, :, r] * _ROW_MULT[r])
    return acc


def candidate_probability(s: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two documents of Jaccard ``s`` share at least one band."""
    return 1.0 - (1.0 - np.asarray(s, dtype=float) ** rows) ** bands


def threshold(bands: int, rows: int) -> float:
    """Approximate S-curve midpoint ``(1/bands)^(1/rows)``."""
    return (1.0 / bands) ** (1.0 / rows)
