"""Static-embedding student: MiniLM distilled into a token lookup table, scored with NumPy only.

The cascade needs a scorer that nearly matches the MiniLM teacher at thousands
of documents per second on two cores. ``model2vec`` distils the teacher's
encoder into one static vector per vocabulary token (PCA-reduced, int8 with a
per-column scale, shipped in ``classifiers/models/edu-static/``; built by
``classifiers.distill``); a document vector is then the mean of its tokens'
vectors, a sparse-count x dense-table product.

Texts are split into words by one regex and each distinct word is mapped once
(then cached) to its WordPiece vectors and feature flags (``StaticVectors``): the
Rust tokenizer over every text would cost more than everything else. From the
words come the static embedding, a word 1-2-gram TF-IDF ridge score (stacked out
of fold, like the teacher's) and lexical/layout features vectorised over the
whole batch (the teacher's per-text Python regexes run at ~300 docs/s and would
dominate). Distillation needs ``model2vec[distill]`` (``pip install
primer-corpus[distill]``); inference needs only ``tokenizers`` and NumPy.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from classifiers.heads import EduHead

STATIC_DIR = Path(__file__).resolve().parent / "models" / "edu-static"

_EXPLAIN = [
    "because",
    "therefore",
    "example",
    "means",
    "defined",
    "definition",
    "called",
    "thus",
    "consider",
    "suppose",
    "step",
    "steps",
    "function",
    "method",
    "theory",
    "explain",
    "explains",
    "equation",
    "formula",
]
_PROMO = [
    "buy",
    "price",
    "prices",
    "sale",
    "shop",
    "cart",
    "click",
    "subscribe",
    "login",
    "cookie",
    "cookies",
    "discount",
    "©",
    "copyright",
    "reserved",
    "posted",
    "comments",
    "comment",
    "shipping",
    "order",
]
_EXPLAIN_SET, _PROMO_SET = frozenset(_EXPLAIN), frozenset(_PROMO)
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


_WORDS = re.compile(r"\w+|[^\w\s]")


@dataclass
class Tokens:
    """A tokenised batch: words as stable feature ids, concatenated, with per-document offsets."""

    ids: np.ndarray  # int64 stable id per word (vocabulary id, or a CRC32 bucket if not a token)
    slots: np.ndarray  # int64 row per word in the lexicon table (vectors, flags)
    starts: np.ndarray  # int64, len n + 1 (CSR-style offsets)

    @property
    def n(self) -> int:
        return len(self.starts) - 1

    def doc_of_token(self) -> np.ndarray:
        return np.repeat(np.arange(self.n), np.diff(self.starts))


class StaticVectors:
    """The shipped distilled table: ``tokenizer.json`` + ``vectors.npy`` (int8, vocab x dim) + ``scale.npy``.

    Running the WordPiece tokenizer over every text costs more than the rest of
    the student together (~1,000 docs/s on two busy cores), so texts are split
    into words with one regex, and each distinct word is mapped once to the sum
    of its WordPiece vectors (a lexicon seeded with the whole-word vocabulary;
    unseen words are tokenised on first sight and cached, up to ``max_words``).
    The document vector is then the same mean over WordPiece tokens that
    model2vec computes, up to the L2 normalisation.
    """

    def __init__(
        self, path: str | Path | None = None, dims: int | None = None, max_words: int = 200_000
    ) -> None:
        from tokenizers import Tokenizer

        src = Path(path) if path else STATIC_DIR
        self.path = src
        self.max_words = max_words
        self.tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        vectors = np.load(src / "vectors.npy").astype(np.float32)
        if (src / "scale.npy").exists():  # int8 table (classifiers.distill.quantize_columns)
            vectors *= np.load(src / "scale.npy")[None, :]
        self.vectors = np.ascontiguousarray(vectors[:, :dims] if dims else vectors)
        self.dim = self.vectors.shape[1]
        self.vocab = self.tokenizer.get_vocab()
        self.vocab_size = len(self.vectors)
        self._reset()

    def _reset(self) -> None:
        self._slot: dict[str, int] = {}
        self._n = 0
        cap = 1 << 15
        self.sums = np.zeros((cap, self.dim), dtype=np.float32)
        self.pieces = np.zeros(cap, dtype=np.float64)
        self.fid = np.zeros(cap, dtype=np.int64)
        self.explain = np.zeros(cap, dtype=np.float64)
        self.promo = np.zeros(cap, dtype=np.float64)
        words = [w for w in self.vocab if not w.startswith(("##", "[")) and w]
        self._add(sorted(words, key=self.vocab.__getitem__))

    def _add(self, words: list[str]) -> None:
        if self._n + len(words) > self.max_words:
            self._reset()  # bounded memory on endless streams; the seed lexicon is rebuilt
        need = self._n + len(words)
        if need > len(self.fid):
            cap = 1 << int(np.ceil(np.log2(need)))
            grow = lambda a: np.concatenate([a, np.zeros((cap - len(a), *a.shape[1:]), a.dtype)])  # noqa: E731
            self.sums, self.pieces, self.fid = grow(self.sums), grow(self.pieces), grow(self.fid)
            self.explain, self.promo = grow(self.explain), grow(self.promo)
        encs = self.tokenizer.encode_batch(words, add_special_tokens=False)
        lens = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        ids = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64, count=int(lens.sum()))
        owner = np.repeat(np.arange(len(words)), lens)
        rows = slice(self._n, need)
        sums = np.zeros((len(words), self.dim), dtype=np.float32)
        np.add.at(sums, owner, self.vectors[np.minimum(ids, self.vocab_size - 1)])
        self.sums[rows] = sums
        self.pieces[rows] = lens
        vid = [self.vocab.get(w, -1) for w in words]
        self.fid[rows] = [
            v
            if v >= 0
            else self.vocab_size + zlib.crc32(w.encode()) % ((1 << 18) - self.vocab_size)
            for w, v in zip(words, vid, strict=True)
        ]
        self.explain[rows] = [w in _EXPLAIN_SET for w in words]
        self.promo[rows] = [w in _PROMO_SET for w in words]
        self._slot.update(zip(words, range(self._n, need), strict=True))
        self._n = need

    def tokenize(self, texts: Sequence[str], max_chars: int = 2000) -> Tokens:
        docs = [_WORDS.findall((t or "")[:max_chars].lower()) for t in texts]
        flat = list(chain.from_iterable(docs))
        slots = list(map(self._slot.get, flat))
        if None in slots:
            missing = sorted({w for w, s in zip(flat, slots, strict=True) if s is None})
            if self._n + len(missing) > self.max_words:
                self._reset()
                missing = sorted({w for w in flat if w not in self._slot})
            self._add(missing)
            slots = list(map(self._slot.__getitem__, flat))
        lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        s = np.asarray(slots, dtype=np.int64)
        return Tokens(self.fid[s], s, np.r_[0, np.cumsum(lens)].astype(np.int64))

    def embed(self, tok: Tokens) -> np.ndarray:
        """Mean of WordPiece vectors per document, L2-normalised (zero for empty documents)."""
        counts = sp.csr_matrix(
            (np.ones(len(tok.slots), dtype=np.float32), tok.slots, tok.starts),
            shape=(tok.n, self._n),
        )
        v = counts @ self.sums[: self._n]
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.maximum(norms, 1e-12)


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


class NgramRidge(RegressorMixin, BaseEstimator):
    """Sublinear TF-IDF + ridge on n-gram counts, keeping only n-grams in >= ``min_df`` documents.

    The pruning keeps the pickled model small (one float32 weight per kept
    column instead of dense idf and coefficient vectors over every hash
    bucket); ``predict`` is a few ``bincount`` calls, no sparse products.
    """

    def __init__(self, alpha: float = 1.0, min_df: int = 2) -> None:
        self.alpha = alpha
        self.min_df = min_df

    def _weights(self, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, kept-column position and L2-normalised TF-IDF weight of each kept nonzero."""
        pos = np.full(X.shape[1], -1, dtype=np.int64)
        pos[self.columns_] = np.arange(len(self.columns_))
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        p = pos[X.indices]
        keep = p >= 0
        rows, p = rows[keep], p[keep]
        w = (1.0 + np.log(X.data[keep].astype(np.float64))) * self.idf_[p]
        norms = np.sqrt(np.bincount(rows, weights=w * w, minlength=X.shape[0]))
        return rows, p, w / np.maximum(norms, 1e-12)[rows]

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> NgramRidge:
        X = sp.csr_matrix(X)
        n = X.shape[0]
        df = np.bincount(X.indices, minlength=X.shape[1])
        self.columns_ = np.flatnonzero(df >= self.min_df).astype(np.int64)
        self.idf_ = (np.log((1.0 + n) / (1.0 + df[self.columns_])) + 1.0).astype(np.float32)
        rows, p, w = self._weights(X)
        Xt = sp.csr_matrix((w, (rows, p)), shape=(n, len(self.columns_)))
        ridge = Ridge(alpha=self.alpha).fit(Xt, y)
        self.coef_ = ridge.coef_.astype(np.float32)
        self.intercept_ = float(ridge.intercept_)
        self.columns_ = self.columns_.astype(np.int32)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: sp.csr_matrix) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = sp.csr_matrix(X)
        rows, p, w = self._weights(X)
        return np.bincount(rows, weights=w * self.coef_[p], minlength=X.shape[0]) + self.intercept_


@lru_cache(maxsize=4)
def _vectors(path: str | None, dims: int | None) -> StaticVectors:
    return StaticVectors(path, dims)


class StaticStudent(RegressorMixin, BaseEstimator):
    """Texts -> educational score 0-5: static MiniLM embedding + lexical features + n-gram ridge.

    The n-gram ridge score enters the head as an out-of-fold feature (never
    scored on its own training rows). ``vectors`` is the distilled table's
    directory (None: the shipped one); it is referenced, not pickled.
    """

    def __init__(
        self,
        vectors: str | None = None,
        *,
        dims: int | None = None,
        max_chars: int = 2000,
        ngram_alpha: float = 1.0,
        n_features: int = 2**18,
        head: dict | None = None,
        random_state: int = 0,
    ) -> None:
        self.vectors = vectors
        self.dims = dims
        self.max_chars = max_chars
        self.ngram_alpha = ngram_alpha
        self.n_features = n_features
        self.head = head
        self.random_state = random_state

    def _sv(self) -> StaticVectors:
        return _vectors(self.vectors, self.dims)

    def _parts(self, texts: Sequence[str]):
        sv = self._sv()
        tok = sv.tokenize(texts, self.max_chars)
        grams = ngram_counts(tok, self.n_features)
        feats = fast_features(texts, tok, sv, grams, self.max_chars, self.n_features)
        return np.hstack([sv.embed(tok), feats]), grams

    def _ngram_fit(self, X: sp.csr_matrix, y: np.ndarray) -> NgramRidge:
        return NgramRidge(alpha=self.ngram_alpha).fit(X, y)

    @staticmethod
    def _ngram_predict(model: NgramRidge, X: sp.csr_matrix) -> np.ndarray:
        return model.predict(X)

    def fit(
        self, X: Sequence[str], y: Sequence[float], tune_mask: np.ndarray | None = None
    ) -> StaticStudent:
        y = np.asarray(y, dtype=float)
        if len(X) != len(y) or len(X) == 0:
            raise ValueError("X and y must be non-empty and of equal length")
        dense, grams = self._parts(X)
        levels = np.rint(y).astype(int)
        counts = np.bincount(levels)
        k = max(2, min(5, int(counts[counts > 0].min())))
        oof = np.zeros(len(y))
        for tr, te in StratifiedKFold(k, shuffle=True, random_state=self.random_state).split(
            dense, levels
        ):
            oof[te] = self._ngram_predict(self._ngram_fit(grams[tr], y[tr]), grams[te])
        self.ngram_ = self._ngram_fit(grams, y)
        params = {"kind": "linear", **(self.head or {})}
        self.head_ = EduHead(**params).fit(np.hstack([dense, oof[:, None]]), y, tune_mask=tune_mask)
        self.n_features_in_ = 1
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        check_is_fitted(self, "head_")
        if len(X) == 0:
            return np.zeros(0)
        dense, grams = self._parts(X)
        feats = np.hstack([dense, self._ngram_predict(self.ngram_, grams)[:, None]])
        return np.clip(self.head_.predict(feats), 0.0, 5.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
