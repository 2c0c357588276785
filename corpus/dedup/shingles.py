"""Text normalisation and word n-gram shingles, hashed to uint64 for a whole batch at once.

Normalisation (close to datatrove's ``simplify_text`` used by FineWeb): ASCII lowercase,
every digit becomes ``0``, and punctuation/whitespace separate words. Words are
maximal runs of ASCII letters/digits and non-ASCII characters, except that the
Unicode punctuation that web text is full of (General Punctuation U+2000-U+206F:
curly quotes, dashes, ellipsis; Latin-1 punctuation/symbols U+00A0-U+00BF incl.
no-break space; CJK punctuation U+3000-U+303F) also separates. Diacritics are kept
and scripts written without spaces make one long "word": word shingles are meant
for space-separated languages.

Hashing is vectorised over the UTF-8 bytes of the whole batch: one byte table
normalises and classifies, each word's bytes are read 8 at a time through an
unaligned uint64 view and mixed with murmur3's ``fmix64``, and each n-gram hash
mixes its ``n`` word hashes with distinct odd multipliers (order-sensitive) and
finalises again. No Python loop runs per word or per shingle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

U64 = np.uint64
# _MASKS[k] keeps the low k bytes of a little-endian uint64 (k = 0..8).
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=U64)
# Odd multipliers for the words of an n-gram (position i gets _NGRAM_MULT[i]).
_NGRAM_MULT = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xA0761D6478BD642F,
        0xE7037ED1A0B428DB,
        0x8EBC6AF09C88C6E3,
        0x589965CC75374CC3,
    ],
    dtype=U64,
)

# One byte table does normalisation and word/separator classes at once: separators
# map to 0; digits fold to '0' (so "page 12" and "page 13" share shingles); ASCII
# letters fold to lower case (non-ASCII case is kept: a byte table cannot lower it,
# and str.lower() would cost more than the rest of shingling together); every
# non-ASCII byte is a word byte (see ``_clear_separators`` for Unicode punctuation).
_FOLD = np.zeros(256, dtype=np.uint8)
_FOLD[ord("a") : ord("z") + 1] = np.arange(ord("a"), ord("z") + 1)
_FOLD[ord("A") : ord("Z") + 1] = np.arange(ord("a"), ord("z") + 1)
_FOLD[ord("0") : ord("9") + 1] = ord("0")
_FOLD[128:] = np.arange(128, 256)


def fmix64(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser (a bijection with full avalanche), vectorised, wrapping."""
    x = x ^ (x >> U64(33))
    x *= U64(0xFF51AFD7ED558CCD)
    x ^= x >> U64(33)
    x *= U64(0xC4CEB9FE1A85EC53)
    x ^= x >> U64(33)
    return x


def _clear_separators(b: np.ndarray, folded: np.ndarray) -> None:
    """Zero ``folded`` on the bytes of Unicode punctuation characters (see module doc)."""
    lead = np.flatnonzero(b >= 0xC2)  # only lead bytes of multi-byte characters
    lead = lead[lead + 2 < len(b)]
    if len(lead) == 0:
        return
    c0, c1 = b[lead], b[lead + 1]
    two = lead[(c0 == 0xC2) & (c1 >= 0xA0) & (c1 <= 0xBF)]
    three = lead[((c0 == 0xE2) & ((c1 == 0x80) | (c1 == 0x81))) | ((c0 == 0xE3) & (c1 == 0x80))]
    for k in range(2):
        folded[two + k] = 0
    for k in range(3):
        folded[three + k] = 0


def word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hash every normalised word of every text.

    Returns ``(hashes, offsets)``: uint64 word hashes of all texts concatenated, and
    int64 ``offsets`` of length ``len(texts) + 1`` (text ``i`` owns
    ``hashes[offsets[i]:offsets[i + 1]]``).

    Byte-level work is one table lookup and two comparisons; the rest runs per
    word: a word's bytes are read 8 at a time through an unaligned uint64 view
    of the buffer, masked to the word's length and mixed into its hash.
    """
    n_docs = len(texts)
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    # A '\n' between texts guarantees no word spans two documents; 8 zero bytes of
    # padding let the uint64 view read past the last word.
    raw = b"\n".join(encoded) + b"\0" * 8
    b = np.frombuffer(raw, dtype=np.uint8)
    folded = _FOLD[b]
    if not raw.isascii():
        _clear_separators(b, folded)
    is_word = folded != 0
    edge = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    if is_word[0]:
        edge = np.concatenate(([0], edge))
    starts, ends = edge[0::2], edge[1::2]
    lengths = ends - starts
    view = np.ndarray((len(b) - 7,), dtype="<u8", buffer=folded.data, strides=(1,))
    with np.errstate(over="ignore"):
        # First 8 bytes of every word, masked to its length (words are mostly short).
        h = view[starts] & _MASKS[np.minimum(lengths, 8)]
        h ^= lengths.astype(U64) * U64(0x9E3779B97F4A7C15)
        todo = np.flatnonzero(lengths > 8)  # words with bytes left to mix in
        k = 1
        while len(todo):
            rem = lengths[todo] - 8 * k
            chunk = view[starts[todo] + 8 * k] & _MASKS[np.minimum(rem, 8)]
            h[todo] = fmix64(h[todo] ^ chunk)
            todo = todo[rem > 8]
            k += 1
        h = fmix64(h)
    # Document of each word: texts sit at known byte offsets in ``raw``.
    doc_bytes = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=n_docs)
    doc_start = np.concatenate(([0], np.cumsum(doc_bytes)))
    offsets = np.searchsorted(starts, doc_start[:n_docs], side="left")
    return h, np.append(offsets, len(starts)).astype(np.int64)


def combine(words: np.ndarray, n: int) -> np.ndarray:
    """Hash of each window of ``n`` consecutive entries of ``words`` (order-sensitive)."""
    if n > len(_NGRAM_MULT):
        raise ValueError(f"n-gram size {n} > {len(_NGRAM_MULT)} is not supported")
    m = len(words) - n + 1
    if m <= 0:
        return np.empty(0, dtype=U64)
    with np.errstate(over="ignore"):
        acc = words[:m] * _NGRAM_MULT[0]
        for k in range(1, n):
            acc += words[k : k + m] * _NGRAM_MULT[k]
        return fmix64(acc + U64(n))


def shingle_hashes(texts: Sequence[str], n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """uint64 hashes of the word ``n``-grams of each text, concatenated, with offsets.

    A text with fewer than ``n`` (but at least one) words gets one shingle made of
    all its words, so short documents can still match; an empty text gets none.
    Duplicated shingles within a text are kept (they cannot change a minimum).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    words, woff = word_hashes(texts)
    counts = np.diff(woff)
    grams = combine(words, n)  # windows over the concatenation; drop those crossing texts
    if len(grams) and n > 1 and len(texts) > 1:
        # The n-1 windows starting just before each inner text boundary cross it.
        crossing = (woff[1:-1, None] - np.arange(1, n)).ravel()
        valid = np.ones(len(grams), dtype=bool)
        valid[crossing[(crossing >= 0) & (crossing < len(grams))]] = False
        grams = grams[valid]
    per_doc = np.maximum(counts - n + 1, 0)
    short = np.flatnonzero((counts > 0) & (counts < n))
    if len(short) == 0:
        return grams, np.concatenate(([0], np.cumsum(per_doc))).astype(np.int64)
    # Rare path: one whole-text shingle for each short text, spliced in place.
    extra = np.array(
        [combine(words[woff[i] : woff[i + 1]], counts[i])[0] for i in short], dtype=U64
    )
    per_doc[short] = 1
    offsets = np.concatenate(([0], np.cumsum(per_doc))).astype(np.int64)
    out = np.empty(offsets[-1], dtype=U64)
    is_short = np.zeros(len(texts), dtype=bool)
    is_short[short] = True
    long_slots = np.repeat(~is_short, per_doc)
    out[long_slots] = grams
    out[offsets[short]] = extra
    return out, offsets


def shingle_set(text: str, n: int = 5) -> np.ndarray:
    """Sorted unique shingle hashes of one text (for true Jaccard)."""
    h, _ = shingle_hashes([text], n)
    return np.unique(h)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted-unique hash arrays (1.0 for two empty sets)."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
