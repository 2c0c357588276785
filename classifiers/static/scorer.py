"""The static student itself: embedding + fast features + a stacked n-gram ridge -> EduHead."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from classifiers.heads import EduHead
from classifiers.static.fast_features import fast_features, ngram_counts
from classifiers.static.vectors import StaticVectors, _vectors


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
        return self.predict_weights(self._weights(X), X.shape[0])

    def predict_weights(self, weights: tuple[np.ndarray, np.ndarray, np.ndarray], n: int):
        """``predict`` from ``_weights``' output: models that share columns and idf (an
        ensemble fitted on the same texts) share it, only their coefficients differ."""
        rows, p, w = weights
        return np.bincount(rows, weights=w * self.coef_[p], minlength=n) + self.intercept_

    def shares_weights(self, other: NgramRidge) -> bool:
        return np.array_equal(self.columns_, other.columns_) and np.array_equal(
            self.idf_, other.idf_
        )


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
        return self._predict_parts(*self._parts(X))

    def _predict_parts(
        self, dense: np.ndarray, grams: sp.csr_matrix, ngram: np.ndarray | None = None
    ) -> np.ndarray:
        if ngram is None:
            ngram = self._ngram_predict(self.ngram_, grams)
        feats = np.hstack([dense, ngram[:, None]])
        return np.clip(self.head_.predict(feats), 0.0, 5.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


class StudentEnsemble(RegressorMixin, BaseEstimator):
    """Mean score of fitted ``StaticStudent`` members that share one featurisation.

    Members fitted to different targets (judge labels, teacher scores) and with
    different heads err on different documents near the cut; their mean agrees
    with the teacher's keep decision more often than any one of them (model card,
    "Cascade student"). The words are tokenised and counted once for all members.
    """

    def __init__(self, members: Sequence[StaticStudent] = ()) -> None:
        self.members = members

    @property
    def vectors(self) -> str | None:
        return self.members[0].vectors

    def predict(self, X: Sequence[str]) -> np.ndarray:
        if not self.members:
            raise ValueError("StudentEnsemble has no members")
        if len(X) == 0:
            return np.zeros(0)
        dense, grams = self.members[0]._parts(X)
        grams = sp.csr_matrix(grams)
        shared: list[tuple[NgramRidge, tuple]] = []  # n-gram weights, once per distinct idf
        scores = []
        for m in self.members:
            r = m.ngram_
            w = next((w for ref, w in shared if ref.shares_weights(r)), None)
            if w is None:
                w = r._weights(grams)
                shared.append((r, w))
            scores.append(m._predict_parts(dense, grams, r.predict_weights(w, grams.shape[0])))
        return np.mean(scores, axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
