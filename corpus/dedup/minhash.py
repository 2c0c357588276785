"""MinHash signatures for a batch of documents, vectorised with NumPy.

Permutation family: multiply-add-shift (Dietzfelbinger 1996),
``h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32`` with random 64-bit ``a_i`` (odd),
``b_i`` and 32-bit keys ``x``; it is strongly universal on 32-bit keys, the
same guarantee as the ``(a x + b) mod (2^61 - 1)`` family datasketch and
datatrove use, but needs no modulo: arithmetic mod 2^64 is what uint64 NumPy
does natively, while a uint64 ``%`` is NumPy's slowest integer operation (and
``a * x`` overflows 64 bits before it in those libraries anyway). The key of a
shingle is the top 32 bits of its 64-bit hash (some two of the ~2,000 shingles
of a pair of 1,000-word documents share a key with probability ~5e-4: far
below the sketch's own error).
The minimum of ``h_i`` over a document is taken on the full 64-bit value
``(a_i x + b_i) mod 2^64``; its top 32 bits are the minimum of ``h_i`` (the low
bits only break ties), so the shift runs once per signature, not per shingle.

Signatures are ``uint32[n_docs, num_perm]``; a document with no shingle gets
all ``EMPTY`` (2^32 - 1) and should not be banded.
"""

from __future__ import annotations

import numpy as np

U64 = np.uint64
EMPTY = np.uint32(0xFFFFFFFF)
_CHUNK = (
    16384  # shingles per pass: a (num_perm, _CHUNK) uint64 buffer (~14 MB at 112) stays in L2/L3
)


def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The ``(a, b)`` coefficients, shape ``(num_perm, 1)``, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**64, size=(num_perm, 1), dtype=U64, endpoint=False) | U64(1)
    b = rng.integers(0, 2**64, size=(num_perm, 1), dtype=U64, endpoint=False)
    return a, b


def signatures(
    shingles: np.ndarray,
    offsets: np.ndarray,
    num_perm: int = 112,
    seed: int = 1,
    chunk: int = _CHUNK,
) -> np.ndarray:
    """MinHash signatures of the documents ``shingles[offsets[i]:offsets[i+1]]``.

    One pass computes all permutations of a chunk of whole documents as a
    ``(num_perm, chunk)`` array, then ``np.minimum.reduceat`` reduces each
    document's columns. Work is O(num_perm x total shingles), no Python per shingle.
    """
    a, b = permutations(num_perm, seed)
    n_docs = len(offsets) - 1
    out = np.full((n_docs, num_perm), EMPTY, dtype=np.uint32)
    counts = np.diff(offsets)
    docs = np.flatnonzero(counts > 0)
    if len(docs) == 0:
        return out
    keys = shingles >> U64(32)
    buf = np.empty((num_perm, max(chunk, int(counts.max()))), dtype=U64)
    # Group non-empty documents into chunks of about ``chunk`` shingles.
    ends_cum = offsets[docs + 1] - offsets[docs[0]]
    i = 0
    while i < len(docs):
        j = int(np.searchsorted(ends_cum, ends_cum[i] - counts[docs[i]] + chunk, side="right"))
        j = max(j, i + 1)
        sel = docs[i:j]
        lo, hi = int(offsets[sel[0]]), int(offsets[sel[-1] + 1])
        # Empty documents inside [lo, hi) own no columns; reduceat over the non-empty starts.
        view = buf[:, : hi - lo]
        with np.errstate(over="ignore"):
            np.multiply(a, keys[lo:hi], out=view)
            np.add(view, b, out=view)
        mins = np.minimum.reduceat(view, offsets[sel] - lo, axis=1)
        out[sel] = (mins >> U64(32)).astype(np.uint32).T
        i = j
    return out


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal signature entries: an unbiased estimate of Jaccard similarity."""
    return float(np.mean(sig_a == sig_b))
