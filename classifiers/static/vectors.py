"""The distilled token table and the batch tokenizer: words -> vectors, ids and cue flags."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from classifiers.lexicon import EXPLAIN, PROMO, student_words

STATIC_DIR = Path(__file__).resolve().parent.parent / "models" / "edu-static"

_EXPLAIN_SET, _PROMO_SET = student_words(EXPLAIN), student_words(PROMO)

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
        # one lookup per word, in C; only the few words never seen (-1) are looked at again
        s = np.fromiter(map(self._slot.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
        new = np.flatnonzero(s < 0).tolist()
        if new:
            missing = sorted(set(map(flat.__getitem__, new)))
            if self._n + len(missing) > self.max_words:
                self._reset()  # every slot changes: map the batch again
                missing = sorted({w for w in flat if w not in self._slot})
                self._add(missing)
                s = np.fromiter(map(self._slot.__getitem__, flat), dtype=np.int64, count=len(flat))
            else:
                self._add(missing)
                s[new] = list(map(self._slot.__getitem__, map(flat.__getitem__, new)))
        lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
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


@lru_cache(maxsize=4)
def _vectors(path: str | None, dims: int | None) -> StaticVectors:
    return StaticVectors(path, dims)
