"""The teacher's stacked lexical model: hashed word 1-2-gram TF-IDF + ridge.

Its out-of-fold score is one of the teacher head's features (``EduSpec.stack_student``);
the code model stacks it too, and a character 2-5-gram variant (``char_regressor``):
in source code the telling units are sub-word (``snake_case`` parts, operators,
``>>>``, ``# ``), which word tokens split poorly. (The static student has its own
sparse ridge, ``classifiers.static.NgramRidge``.)
"""

from __future__ import annotations

from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline


def _cut_lower(text: str) -> str:
    return (text or "")[:2000].lower()


def _judge_cut_lower(text: str) -> str:
    return (text or "")[:3000].lower()  # what the code judge read


def ngram_regressor(alpha: float = 1.0, n_features: int = 2**18) -> Pipeline:
    """Hashed word 1-2-gram TF-IDF + ridge: the stacked lexical model of the teacher.

    Robust and deterministic (no training failures), so it is used inside
    cross-validation; out-of-fold Spearman 0.65 on random web pages.
    """
    return make_pipeline(
        HashingVectorizer(
            preprocessor=_cut_lower,
            ngram_range=(1, 2),
            n_features=n_features,
            alternate_sign=False,
            norm=None,
        ),
        TfidfTransformer(sublinear_tf=True),
        Ridge(alpha=alpha),
    )


def char_regressor(alpha: float = 1.0, n_features: int = 2**19) -> Pipeline:
    """Hashed character 2-5-gram (within word boundaries) TF-IDF + ridge, first 3,000 chars.

    Stateless hashing first, so callers may hash once (``pipeline[0]``) and fit the
    rest (``pipeline[1:]``) per fold with the same result.
    """
    return make_pipeline(
        HashingVectorizer(
            preprocessor=_judge_cut_lower,
            analyzer="char_wb",
            ngram_range=(2, 5),
            n_features=n_features,
            alternate_sign=False,
            norm=None,
        ),
        TfidfTransformer(sublinear_tf=True),
        Ridge(alpha=alpha),
    )
