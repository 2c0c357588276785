"""Cheap lexical and layout features that an embedding of the opening text misses.

A sentence embedding says what a text is about; whether it *teaches* also
shows in its shape: long coherent paragraphs versus link lists and menus,
sentences that end in punctuation, code blocks, numbered steps. These features
cost microseconds per document and are appended to the embedding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from classifiers.lexicon import EXPLAIN, PROMO, teacher_pattern

_WORD = re.compile(r"\w+", re.UNICODE)
_SENT_END = re.compile(r"[.!?。！？:;]\s*$")
_LIST = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")
_CODE = re.compile(r"[{}();=<>\[\]]|^\s{4,}\S|^\s*(?:def|class|import|return|for|if)\b", re.M)
_EXPLAIN = teacher_pattern(EXPLAIN)  # the cue vocabulary is shared with the student
_PROMO = teacher_pattern(PROMO)

FEATURE_NAMES = (
    "log_chars",
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
    "unique_word_ratio",
    "code_marks_per_line",
    "explain_per_100_words",
    "promo_per_100_words",
)


@lru_cache(maxsize=8192)  # cross-validation scores the same label texts many times
def _cached(text: str, max_chars: int) -> tuple[float, ...]:
    return tuple(text_features(text, max_chars))


def text_features(text: str, max_chars: int = 2000) -> list[float]:
    """The ``FEATURE_NAMES`` of one text (its first ``max_chars`` characters, as the judge saw)."""
    t = (text or "")[:max_chars]
    lines = [ln for ln in t.splitlines() if ln.strip()] or [""]
    words = _WORD.findall(t)
    n_chars = max(len(t), 1)
    n_words = max(len(words), 1)
    line_words = [len(_WORD.findall(ln)) for ln in lines]
    return [
        np.log1p(len(t)),
        np.log1p(len(words)),
        np.log1p(len(lines)),
        float(np.mean(line_words)),
        sum(bool(_SENT_END.search(ln)) for ln in lines) / len(lines),
        sum(w < 4 for w in line_words) / len(lines),
        sum(bool(_LIST.match(ln)) for ln in lines) / len(lines),
        sum(len(w) for w in words) / n_words,
        sum(c.isalpha() for c in t) / n_chars,
        sum(c.isdigit() for c in t) / n_chars,
        sum(c.isupper() for c in t) / n_chars,
        len({w.lower() for w in words}) / n_words,
        len(_CODE.findall(t)) / len(lines),
        100.0 * len(_EXPLAIN.findall(t)) / n_words,
        100.0 * len(_PROMO.findall(t)) / n_words,
    ]


class LexicalFeatures(TransformerMixin, BaseEstimator):
    """Texts -> ``(n, len(FEATURE_NAMES))`` float array. Stateless; ``fit`` only checks input."""

    def __init__(self, max_chars: int = 2000) -> None:
        self.max_chars = max_chars

    def fit(self, X: Sequence[str], y: object = None) -> LexicalFeatures:
        self.n_features_out_ = len(FEATURE_NAMES)
        return self

    def transform(self, X: Sequence[str]) -> np.ndarray:
        return np.asarray([_cached(t or "", self.max_chars) for t in X], dtype=np.float64)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(FEATURE_NAMES, dtype=object)
