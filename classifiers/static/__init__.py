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

# Model files pickle ``classifiers.static.StaticStudent`` / ``NgramRidge``: keep both here.
from classifiers.static.fast_features import FAST_FEATURE_NAMES, fast_features, ngram_counts
from classifiers.static.scorer import NgramRidge, StaticStudent, StudentEnsemble
from classifiers.static.vectors import STATIC_DIR, StaticVectors, Tokens

__all__ = [
    "FAST_FEATURE_NAMES",
    "STATIC_DIR",
    "NgramRidge",
    "StaticStudent",
    "StaticVectors",
    "StudentEnsemble",
    "Tokens",
    "fast_features",
    "ngram_counts",
]
