"""The student's lexical/layout features and n-gram counts, vectorised over a whole batch.

The same ideas as the teacher's ``classifiers.features`` (per-text Python regexes at
~300 docs/s), computed from one character-class histogram and the tokenised words.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from classifiers.static.vectors import StaticVectors, Tokens

_CODE_CHARS = "{}();=<>[]"
_SENT_END = ".!?。！？:;"
_BULLETS = "-*•·"

FAST_FEATURE_NAMES = (
    "log_chars",
    "log_wordpieces",
    "log_words",
    "log_lines",
    "mean_line_words",
    "frac_lines_sentence_end",
    "frac_short_lines",
    "frac_list_lines",
    "mean_word_len",
    "frac_alpha_chars",
    "frac_digit_chars",
    "frac_upper_chars",
    "frac_space_chars",
    "unique_token_ratio",
    "frac_multi_piece_words",
    "code_marks_per_line",
    "explain_per_100_words",
    "promo_per_100_words",
)

# character classes (bits) of code points < 2**16; others count as nothing
_ALPHA, _DIGIT, _UPPER, _SPACE, _WORD, _CODE, _END, _BULLET = (1 << k for k in range(8))


@lru_cache(maxsize=1)
def _char_table() -> np.ndarray:
    table = np.zeros(1 << 16, dtype=np.uint8)
    for cp in range(1 << 16):
        if 0xD800 <= cp < 0xE000:
            continue
        c = chr(cp)
        bits = 0
        if c.isalpha():
            bits |= _ALPHA
        if c.isdigit():
            bits |= _DIGIT
        if c.isupper():
            bits |= _UPPER
        if c.isspace():
            bits |= _SPACE
        if c.isalnum() or c == "_":
            bits |= _WORD
        table[cp] = bits
    for chars, bit in ((_CODE_CHARS, _CODE), (_SENT_END, _END), (_BULLETS, _BULLET)):
        for c in chars:
            table[ord(c)] |= bit
    return table


def ngram_counts(tok: Tokens, n_features: int = 2**18) -> sp.csr_matrix:
    """``(n, 2 * n_features)`` counts of word unigrams (stable ids) and hashed bigrams."""
    ids = tok.ids.astype(np.uint64)
    doc = tok.doc_of_token()
    same = doc[1:] == doc[:-1]
    a, b = ids[:-1][same], ids[1:][same]
    h = (a * np.uint64(0x100000001B3) + b) * np.uint64(0x9E3779B97F4A7C15)
    bigram = n_features + ((h >> np.uint64(24)) % np.uint64(n_features)).astype(np.int64)
    cols = np.concatenate([tok.ids % n_features, bigram])
    rows = np.concatenate([doc, doc[1:][same]])
    m = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(tok.n, 2 * n_features)
    )
    m.sum_duplicates()
    return m


def fast_features(
    texts: Sequence[str],
    tok: Tokens,
    sv: StaticVectors,
    grams: sp.csr_matrix,
    max_chars: int = 2000,
    n_features: int = 2**18,
) -> np.ndarray:
    """``(n, len(FAST_FEATURE_NAMES))`` layout/lexical features, vectorised over the batch.

    Character classes come from one histogram of (document, class byte) pairs;
    lines from the newline positions; word counts from the regex words.
    """
    n = len(texts)
    cut = [(t or "")[:max_chars] for t in texts]
    n_chars = np.fromiter((len(t) for t in cut), dtype=np.int64, count=n)
    big = "\n".join(cut) + "\n"
    cp = np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = _char_table()[np.minimum(cp, 0xFFFF)]
    doc_start = np.r_[0, np.cumsum(n_chars + 1)[:-1]]
    doc_of_char = np.repeat(np.arange(n, dtype=np.int64), n_chars + 1)
    hist = np.bincount(doc_of_char * 256 + cls, minlength=n * 256).reshape(n, 256)
    hist[:, cls[-1]] -= 1  # each document's trailing separator newline
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1
    per_class = (hist @ bits).astype(np.float64)  # (n, 8): chars of each class bit

    def count(bit: int) -> np.ndarray:
        return per_class[:, bit.bit_length() - 1]

    n_tok = np.diff(tok.starts).astype(np.float64)
    n_words = n_tok
    denom_c = np.maximum(n_chars, 1).astype(np.float64)
    denom_w = np.maximum(n_words, 1)

    # lines end at each newline (the last one too); empty = no non-space character
    nl = np.flatnonzero(cp == 10)
    line_start = np.r_[0, nl[:-1] + 1]
    ns = np.flatnonzero((cls & _SPACE) == 0)
    k_first = np.searchsorted(ns, line_start)
    k_last = np.searchsorted(ns, nl) - 1
    nonempty = k_last >= k_first
    first_ns = ns[np.minimum(k_first, len(ns) - 1)] if len(ns) else line_start
    last_ns = ns[np.maximum(k_last, 0)] if len(ns) else line_start
    line_doc = np.searchsorted(doc_start, line_start, side="right") - 1
    word = (cls & _WORD) > 0
    word_starts = np.flatnonzero(word & ~np.r_[False, word[:-1]])
    line_words = np.bincount(np.searchsorted(nl, word_starts), minlength=len(line_start)).astype(
        np.float64
    )
    ends = nonempty & ((cls[last_ns] & _END) > 0)
    lists = nonempty & ((cls[first_ns] & (_BULLET | _DIGIT)) > 0)
    d = line_doc[nonempty]
    n_lines = np.bincount(d, minlength=n).astype(np.float64)
    denom_l = np.maximum(n_lines, 1)

    def line_mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(d, weights=values[nonempty], minlength=n) / denom_l

    doc_tok = tok.doc_of_token()
    row_of_nz = np.repeat(np.arange(n), np.diff(grams.indptr))
    n_uniq = np.bincount(row_of_nz[grams.indices < n_features], minlength=n)

    def tok_count(flags: np.ndarray) -> np.ndarray:
        return np.bincount(doc_tok, weights=flags[tok.slots], minlength=n)

    return np.column_stack(
        [
            np.log1p(n_chars),
            np.log1p(tok_count(sv.pieces)),
            np.log1p(np.bincount(line_doc, weights=line_words, minlength=n)),
            np.log1p(n_lines),
            line_mean(line_words),
            line_mean(ends.astype(np.float64)),
            line_mean((line_words < 4).astype(np.float64)),
            line_mean(lists.astype(np.float64)),
            count(_WORD) / np.maximum(np.bincount(line_doc, weights=line_words, minlength=n), 1),
            count(_ALPHA) / denom_c,
            count(_DIGIT) / denom_c,
            count(_UPPER) / denom_c,
            count(_SPACE) / denom_c,
            n_uniq / denom_w,
            tok_count((sv.pieces > 1).astype(np.float64)) / denom_w,
            count(_CODE) / denom_l,
            100.0 * tok_count(sv.explain) / denom_w,
            100.0 * tok_count(sv.promo) / denom_w,
        ]
    )
