"""Toxicity screening: an offline classifier, an adult URL/domain blocklist and a word list.

The classifier is alt-profanity-check (PyPI, weights in the wheel): a linear SVM over
TF-IDF trained on ~200k human-labelled offensive/clean texts. It was trained on short
comments, so documents are cut into sentence chunks of about ``chunk_chars`` and scored
per chunk: ``toxicity`` is the share of the document's characters in chunks the model
calls offensive (probability >= 0.5), ``toxicity_max`` the highest chunk probability.
``toxic_words`` counts shipped explicit words (whole words). Scores are stored for every
live document, so thresholds can be re-chosen in SQL.

Defaults are conservative (drop only clear cases): word-list and toxicity filters are
known to remove dialects and text *about* minorities disproportionately (Dodge et al.
2021 on C4's list), so a document goes only when most of it is offensive *and* it has a listed word (alone,
the model dropped 5 of the 1,247 real sample pages, all wrongly: short reviews, author
lists, romanised Hakka), when listed words are a large share of it, or when its URL is
on the adult blocklist.
Drops: ``drop_stage="toxicity"``, reason ``toxicity:url``, ``toxicity:model`` or
``toxicity:words``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from itertools import repeat
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from corpus.config_base import Section
from corpus.stage import Batch, Resources, Stage, alive, batch_len, mark_dropped
from corpus.words import hash_words


class ToxicityConfig(Section):
    enabled: bool = Field(True, description="score documents for toxicity")
    model: bool = Field(True, description="use the offline classifier (alt-profanity-check)")
    max_share: float = Field(
        0.5, ge=0, le=1, description="drop when this share of the text is offensive (model)"
    )
    max_word_share: float = Field(
        0.02, ge=0, le=1, description="drop when explicit words are this share of all words"
    )
    min_words_hits: int = Field(5, ge=1, description="... and at least this many of them")
    model_min_words: int = Field(
        1, ge=0, description="a model drop also needs this many list words (corroboration)"
    )
    url_blocklist: bool = Field(True, description="drop documents from blocklisted adult URLs")
    chunk_chars: int = Field(400, ge=50, description="characters per scored chunk (about)")
    max_chars: int = Field(20_000, ge=100, description="characters scored per document at most")
    domain_files: list[str] = Field(
        default_factory=list, description="extra domain blocklists (one domain a line)"
    )


def _lines(name: str) -> list[str]:
    text = resources.files("corpus").joinpath("safety_lists", name).read_text()
    return [w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#")]


@lru_cache(maxsize=1)
def _model():
    """``texts -> offensive probabilities``, the same floats as ``profanity_check.predict_prob``.

    Only the term counting is redone here: sklearn's ``CountVectorizer`` counts in a Python
    loop per token, the stage's largest cost. The counts are vectorised (the tokens' hashes
    from ``corpus.words`` looked up in the vocabulary's, ``np.unique``) and give the same
    sorted-index CSR matrix, which then goes through the package's own ``TfidfTransformer``
    and ``CalibratedClassifierCV``, so the probabilities are bit-identical
    (tests/corpus/test_toxicity.py checks it).
    """
    from profanity_check import profanity_check as pc  # offline: weights in the wheel

    vec = pc.vectorizer
    plain = (
        vec.analyzer == "word" and vec.ngram_range == (1, 1) and vec.lowercase
        and vec.preprocessor is None and vec.tokenizer is None and not vec.strip_accents
        and not vec.binary and vec.input == "content" and hasattr(vec, "_tfidf")
    )  # fmt: skip
    if not plain:  # another package version: its own (slower) path
        return pc.predict_prob
    import numpy as np
    import scipy.sparse as sp

    try:  # sklearn >= 1.8 hands csr_array or csr_matrix on as configured
        from sklearn.utils import _align_api_if_sparse as align
    except ImportError:

        def align(X):
            return X

    stop = vec.get_stop_words() or ()
    # stop words are removed before the vocabulary lookup (none is in it, but be exact)
    lookup = {w: i for w, i in vec.vocabulary_.items() if w not in stop}
    n_feat = len(vec.vocabulary_)
    # The tokens are the words of 2+ characters of ``corpus.words``: hashed in one pass and
    # looked up in the sorted hashes of the vocabulary, where each term is one such word.
    one_word = False
    if vec.token_pattern == r"(?u)\b\w\w+\b" and lookup:
        vocab = hash_words(list(lookup), min_length=2)
        one_word = np.array_equal(vocab.offsets, np.arange(len(lookup) + 1))
    if one_word:
        order = np.argsort(vocab.hashes)
        vocab_h, vocab_id = vocab.hashes[order], np.fromiter(lookup.values(), np.int64)[order]
    findall = re.compile(vec.token_pattern).findall

    def term_ids(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row of each token, its vocabulary id or -1)."""
        if one_word:
            w = hash_words(texts, min_length=2)
            pos = np.minimum(np.searchsorted(vocab_h, w.hashes), len(vocab_h) - 1)
            ids = np.where(vocab_h[pos] == w.hashes, vocab_id[pos], -1)
            return np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(w.offsets)), ids
        flat: list[str] = []
        lens = []
        for t in texts:
            toks = findall(t.lower())
            flat += toks
            lens.append(len(toks))
        ids = np.fromiter(map(lookup.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
        return np.repeat(np.arange(len(texts), dtype=np.int64), lens), ids

    def counts(texts: list[str]):
        row, ids = term_ids(texts)
        known = ids >= 0
        keys, values = np.unique(row[known] * n_feat + ids[known], return_counts=True)
        rows = keys // n_feat
        indptr = np.searchsorted(rows, np.arange(len(texts) + 1)).astype(np.int32)
        X = sp.csr_array(
            ((values.astype(np.intc)), (keys % n_feat).astype(np.int32), indptr),
            shape=(len(texts), n_feat),
            dtype=vec.dtype,
        )
        X.sort_indices()  # already sorted: a no-op, as in sklearn's _count_vocab
        return align(X)

    def predict_prob(texts: list[str]):
        X = vec._tfidf.transform(counts(texts), copy=False)
        return pc.model.predict_proba(X)[:, 1]

    predict_prob.counts = counts  # for the identity test
    return predict_prob


# Whitespace after a sentence end, or newlines: (?<=[.!?])\s+|\n+ written to start with a
# class so that re scans for it in C (lookbehinds moved past the first character).
_SENT = re.compile(r"\s(?:(?<=[.!?]\s)\s*|(?<=\n)\n*)")
_A_TO_Z_ONLY = bytes(c if 0x61 <= c <= 0x7A else 0x20 for c in range(256))
_NON_LETTERS = re.compile(r"[^a-z]+")


def chunks(text: str, size: int, limit: int) -> list[str]:
    """Sentences packed into chunks of about ``size`` characters, the first ``limit`` chars."""
    out, cur = [], ""
    for sent in _SENT.split(text[:limit]):
        if not sent or sent.isspace():  # as ``not sent.strip()``, without a copy
            continue
        if cur and len(cur) + len(sent) > size:
            out.append(cur)
            cur = ""
        cur = f"{cur} {sent}" if cur else sent
    if cur:
        out.append(cur)
    return out


class ToxicityScorer:
    def __init__(self, config: ToxicityConfig | None = None):
        self.config = config or ToxicityConfig()
        self.words = frozenset(_lines("words.txt"))
        self._words_bytes = frozenset(w.encode("utf-8", "surrogatepass") for w in self.words)
        self.url_words = frozenset(_lines("url_words.txt"))
        domains = set(_lines("adult_domains.txt"))
        for f in self.config.domain_files:
            domains |= {d.strip().lower() for d in Path(f).read_text().splitlines() if d.strip()}
        self.domains = frozenset(domains)

    def url_blocked(self, url: str | None) -> bool:
        if not url:
            return False
        host = (urlsplit(url if "//" in url else "//" + url).hostname or "").lower()
        labels = host.split(".")
        if any(".".join(labels[i:]) in self.domains for i in range(len(labels))):
            return True
        return any(tok in self.url_words for tok in _NON_LETTERS.split(url.lower()) if tok)

    def word_hits(self, text: str) -> tuple[int, int]:
        """(listed words, all words): words are the runs of a-z in the lower-cased text.

        Found on bytes, ~1.5x faster than ``re.findall("[a-z]+")``: in UTF-8 the bytes a-z
        only ever stand for themselves, so mapping every other byte to a space and splitting
        gives the same runs (surrogatepass: a lone surrogate, valid JSON, is a run break)."""
        words = text.lower().encode("utf-8", "surrogatepass").translate(_A_TO_Z_ONLY).split()
        return sum(map(self._words_bytes.__contains__, words)), len(words)

    def model_scores(self, texts: list[str]) -> list[tuple[float, float]]:
        """(offensive share of characters, max chunk probability) per text."""
        cfg = self.config
        per_doc = [chunks(t, cfg.chunk_chars, cfg.max_chars) for t in texts]
        flat = [c for cs in per_doc for c in cs]
        probs = list(_model()(flat)) if flat else []
        out, k = [], 0
        for cs in per_doc:
            p = probs[k : k + len(cs)]
            k += len(cs)
            total = sum(len(c) for c in cs) or 1
            share = sum(len(c) for c, q in zip(cs, p, strict=True) if q >= 0.5) / total
            out.append((round(share, 4), round(float(max(p, default=0.0)), 4)))
        return out


class ToxicityStage(Stage):
    name: ClassVar[str] = "toxicity"
    resources = Resources(cpus=1.0, batch_size=512)

    def __init__(self, config: ToxicityConfig | None = None):
        self.config = config or ToxicityConfig()
        self.scorer = ToxicityScorer(self.config)

    def setup(self) -> None:
        if self.config.model:
            _model()

    def process(self, batch: Batch) -> Batch:
        cfg = self.config
        n = batch_len(batch)
        rows = [i for i, ok in enumerate(alive(batch)) if ok and batch["text"][i]]
        share: list[float | None] = [None] * n
        top: list[float | None] = [None] * n
        hits: list[int | None] = [None] * n
        if cfg.model:
            for i, (s, m) in zip(
                rows, self.scorer.model_scores([batch["text"][i] for i in rows]), strict=True
            ):
                share[i], top[i] = s, m
        dropped, why = [], []
        urls = batch.get("url") or [None] * n
        for i in rows:
            h, total = self.scorer.word_hits(batch["text"][i])
            hits[i] = h
            if cfg.url_blocklist and self.scorer.url_blocked(urls[i]):
                reason = "toxicity:url"
            elif share[i] is not None and share[i] >= cfg.max_share and h >= cfg.model_min_words:
                reason = "toxicity:model"
            elif h >= cfg.min_words_hits and h >= cfg.max_word_share * total:
                reason = "toxicity:words"
            else:
                continue
            dropped.append(i)
            why.append(reason)
        mark_dropped(batch, dropped, self.name, why)
        if "text_hash" in batch:
            for i in dropped:
                batch["text_hash"][i] = None
        batch["toxicity"] = share
        batch["toxicity_max"] = top
        batch["toxic_words"] = hits
        return batch
