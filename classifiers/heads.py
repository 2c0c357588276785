"""scikit-learn heads that map document features to the 0-5 educational score.

Three families are compared in the model card, as the literature did:
a regression head (FineWeb-Edu: linear regression on frozen embeddings), a
multinomial classifier (score = expected label) and a random forest (Phi-1).
``forest_keep`` adds the keep decision itself: a random-forest classifier of
``score >= 3`` (its probability times 5) averaged with the forest's score, so
the ranking near the cut is learnt as such while the level ordering stays.

Labels are skewed (about 11% of web pages score >= 3), so ``balanced`` weights
each score level equally. The pipeline keeps documents with ``score >= 3``;
``fit`` picks the threshold on inner cross-validated predictions and ``predict``
maps it monotonically onto 3.0 (ranking, hence Spearman, is unchanged). The
default cut (``cut="balanced"``) keeps as many documents as the labels call
>= 3, so precision equals recall: the rubric's meaning of ``edu_int >= 3``
rather than the F1-best point, which on skewed web pages over-keeps (precision
0.5 at recall 0.75 on fresh pages with the F1 cut). ``tune_mask`` restricts the
choice to some rows (the random web pages the pipeline will see).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import (
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted, validate_data

KINDS = ("ridge", "logistic", "forest", "boosting", "ensemble", "linear", "forest_keep", "keep")
ENSEMBLE = ("ridge", "logistic", "forest")  # averaged raw scores
# members averaged by the ensemble kinds; "linear" skips the forest (fast inference: the student);
# "forest_keep": forest score + 5 x P(score >= 3) of a forest classifier ("keep")
ENSEMBLES = {
    "ensemble": ENSEMBLE,
    "linear": ("ridge", "logistic"),
    "forest_keep": ("forest", "keep"),
}
CUT = 3.0
TOP = 5.0


def best_threshold(y: np.ndarray, raw: np.ndarray, cut: float = CUT) -> float:
    """The threshold on ``raw`` that maximises binary F1 of ``y >= cut`` (ties: the lowest)."""
    truth = np.asarray(y) >= cut
    if truth.all() or not truth.any():
        return cut
    cands = np.unique(np.round(raw, 4))
    best, best_f1 = cut, -1.0
    for t in cands:
        pred = raw >= t
        tp = np.sum(pred & truth)
        f1 = 2 * tp / max(pred.sum() + truth.sum(), 1)
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


def balanced_threshold(y: np.ndarray, raw: np.ndarray, cut: float = CUT) -> float:
    """The threshold on ``raw`` that predicts as many ``>= cut`` as the labels hold
    (precision = recall); among equally close ones, the F1-best."""
    truth = np.asarray(y) >= cut
    if truth.all() or not truth.any():
        return cut
    r = np.round(np.asarray(raw, dtype=float), 4)
    cands = np.unique(r)
    kept = (r[None, :] >= cands[:, None]).sum(axis=1)
    tp = ((r[None, :] >= cands[:, None]) & truth[None, :]).sum(axis=1)
    gap = np.abs(kept - truth.sum())
    f1 = 2 * tp / np.maximum(kept + truth.sum(), 1)
    best = np.lexsort((-f1, gap))[0]
    return float(cands[best])


CUTS = {"f1": best_threshold, "balanced": balanced_threshold}


def remap(raw: np.ndarray, threshold: float, cut: float = CUT, top: float = TOP) -> np.ndarray:
    """Monotone piecewise-linear map of [0, top] sending ``threshold`` to ``cut``."""
    r = np.clip(np.asarray(raw, dtype=float), 0.0, top)
    t = float(np.clip(threshold, 1e-3, top - 1e-3))
    low = r * (cut / t)
    high = cut + (r - t) * ((top - cut) / (top - t))
    return np.where(r < t, low, high)


class EduHead(RegressorMixin, BaseEstimator):
    """Numeric features -> educational score in [0, 5].

    ``kind``: ``ridge`` (regression), ``logistic`` (multinomial; expected label),
    ``forest`` (random-forest regression), ``boosting`` (histogram gradient
    boosting), ``ensemble`` (mean of the ridge, logistic and forest scores) or
    ``linear`` (mean of ridge and logistic: no forest, so cheap at inference),
    ``keep`` (random-forest classifier of ``score >= 3``, 5 x its probability; classes
    balanced at the cut) or ``forest_keep`` (mean of the forest and keep scores).
    ``tune_cv`` folds choose the cut (0 disables it): ``balanced`` (precision =
    recall) or ``f1`` (F1-best), on the rows of ``tune_mask`` given to ``fit``.
    """

    def __init__(
        self,
        kind: str = "ridge",
        *,
        alpha: float = 10.0,
        C: float = 1.0,
        n_estimators: int = 300,
        class_weight: str | None = "balanced",
        tune_cv: int = 3,
        cut: str = "balanced",
        random_state: int = 0,
    ) -> None:
        self.kind = kind
        self.alpha = alpha
        self.C = C
        self.n_estimators = n_estimators
        self.class_weight = class_weight
        self.tune_cv = tune_cv
        self.cut = cut
        self.random_state = random_state

    def _make(self):
        if self.kind == "ridge":
            return make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        if self.kind == "logistic":
            return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        if self.kind == "forest":
            return RandomForestRegressor(
                n_estimators=self.n_estimators,
                min_samples_leaf=2,
                max_features=0.3,
                n_jobs=1,
                random_state=self.random_state,
            )
        if self.kind == "keep":
            return RandomForestClassifier(
                n_estimators=self.n_estimators,
                min_samples_leaf=2,
                max_features=0.3,
                n_jobs=1,
                random_state=self.random_state,
            )
        if self.kind in ENSEMBLES:
            return None
        if self.kind == "boosting":
            return HistGradientBoostingRegressor(
                max_iter=self.n_estimators, learning_rate=0.05, random_state=self.random_state
            )
        raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")

    def _fit_one(self, X: np.ndarray, y: np.ndarray):
        if self.kind in ENSEMBLES:
            return [
                (k, clone(self).set_params(kind=k)._fit_one(X, y)) for k in ENSEMBLES[self.kind]
            ]
        est = clone(self._make())
        levels = np.rint(y).astype(int)
        if self.kind == "keep":  # balanced at the cut, not per level: the decision it learns
            levels = (y >= CUT).astype(int)
        weights = None
        if self.class_weight == "balanced" and len(np.unique(levels)) > 1:
            weights = compute_sample_weight("balanced", levels)
        last = est.steps[-1][0] if hasattr(est, "steps") else None
        key = f"{last}__sample_weight" if last else "sample_weight"
        target = levels if self.kind in ("logistic", "keep") else y
        est.fit(X, target, **({key: weights} if weights is not None else {}))
        return est

    def _raw(self, est, X: np.ndarray) -> np.ndarray:
        if self.kind in ENSEMBLES:
            return np.mean([clone(self).set_params(kind=k)._raw(e, X) for k, e in est], axis=0)
        if self.kind == "logistic":
            classes = est.classes_ if not hasattr(est, "steps") else est.steps[-1][1].classes_
            return est.predict_proba(X) @ classes.astype(float)
        if self.kind == "keep":
            proba = est.predict_proba(X)
            return TOP * (proba[:, 1] if proba.shape[1] > 1 else est.classes_[0] * proba[:, 0])
        return est.predict(X)

    def fit(self, X, y, tune_mask=None) -> EduHead:
        X, y = validate_data(self, X, y, y_numeric=True)
        y = np.asarray(y, dtype=float)
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.cut not in CUTS:
            raise ValueError(f"cut must be one of {tuple(CUTS)}, not {self.cut!r}")
        tune = np.ones(len(y), bool) if tune_mask is None else np.asarray(tune_mask, bool)
        if tune.shape != y.shape:
            raise ValueError("tune_mask must have one entry per row")
        self.threshold_ = CUT
        levels = np.rint(y).astype(int)
        counts = np.bincount(levels - levels.min()) if len(levels) else np.array([0])
        folds = min(self.tune_cv, int(counts[counts > 0].min()) if counts.any() else 0)
        if self.tune_cv and folds >= 2 and (y >= CUT).any() and (y < CUT).any():
            raw = np.zeros(len(y))
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            for tr, te in cv.split(X, levels):
                raw[te] = self._raw(self._fit_one(X[tr], y[tr]), X[te])
            self.threshold_ = CUTS[self.cut](y[tune], raw[tune])
        self.estimator_ = self._fit_one(X, y)
        return self

    def predict_raw(self, X) -> np.ndarray:
        """Scores before the threshold remap (what Spearman and the ranking use)."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False)
        return np.clip(self._raw(self.estimator_, X), 0.0, TOP)

    def predict(self, X) -> np.ndarray:
        return remap(self.predict_raw(X), self.threshold_)

    def __setstate__(self, state: dict) -> None:
        state.setdefault("cut", "f1")  # heads pickled before the balanced cut used the F1 cut
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Outputs are clipped to the 0-5 scale by design, so R^2 on arbitrary targets is poor.
        tags.regressor_tags.poor_score = True
        return tags
