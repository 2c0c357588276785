from __future__ import annotations

import numpy as np
import pytest

from classifiers.metrics import evaluate, render, to_int


def test_to_int_rounds_half_up_and_clips():
    assert to_int(np.array([-1, 0.49, 0.5, 2.5, 4.6, 7])).tolist() == [0, 0, 1, 3, 5, 5]


def test_evaluate_known_values():
    y = np.array([0, 1, 3, 4, 5, 2])
    pred = np.array([0.2, 3.1, 3.4, 2.0, 4.8, 1.6])  # TP 2 (3, 5), FP 1 (1), FN 1 (4)
    m = evaluate(y, pred)
    assert m["positives"] == 3
    assert m["precision"] == 2 / 3 and m["recall"] == 2 / 3
    assert abs(m["f1"] - 2 / 3) < 1e-9
    assert sum(map(sum, m["confusion"])) == 6
    assert m["confusion"][4][2] == 1  # label 4 predicted as 2
    assert m["calibration"][3]["n"] == 2 and m["calibration"][3]["mean_label"] == 2.0
    text = render("t", m)
    assert "F1 0.667" in text and "| 4 | 0 | 0 | 1 |" in text


def test_evaluate_reports_auc_and_keep_rates():
    y = np.array([0, 1, 3, 4, 5, 2])
    pred = np.array([0.2, 3.1, 3.4, 2.0, 4.8, 1.6])
    m = evaluate(y, pred)
    # positives (3, 4, 5) scored 3.4, 2.0, 4.8; negatives 0.2, 3.1, 1.6: 8 of 9 pairs ordered
    assert abs(m["auc"] - 8 / 9) < 1e-9
    assert m["kept_by_labels"] == 0.5 and m["kept_by_model"] == 0.5
    assert "AUC 0.889" in render("t", m) and "recall 0.667" in render("t", m)
    assert evaluate(np.array([0, 1]), np.array([0.5, 1.0]))["auc"] is None  # one class only


def test_balanced_cut_makes_precision_equal_recall():
    from classifiers.heads import EduHead, balanced_threshold, best_threshold

    rng = np.random.default_rng(0)
    y = np.clip(np.rint(rng.normal(1.5, 1.2, 400)), 0, 5)
    raw = y + rng.normal(0, 0.9, 400)
    t = balanced_threshold(y, raw)
    m = evaluate(y, np.where(raw >= t, 3.0, 0.0))
    assert abs(m["precision"] - m["recall"]) < 0.02
    assert (raw >= t).sum() == pytest.approx((y >= 3).sum(), abs=2)
    assert t != best_threshold(y, raw)  # the F1-best cut keeps a different number here
    # tune_mask: the cut balances the chosen rows only
    X = np.c_[raw, rng.normal(size=400)]
    mask = np.arange(400) < 200
    head = EduHead("ridge", tune_cv=3).fit(X, y, tune_mask=mask)
    assert head.threshold_ != EduHead("ridge", tune_cv=3, cut="f1").fit(X, y).threshold_
    with pytest.raises(ValueError, match="tune_mask"):
        EduHead("ridge").fit(X, y, tune_mask=mask[:10])
    with pytest.raises(ValueError, match="cut"):
        EduHead("ridge", cut="median").fit(X, y)


def test_same_folds_and_stratified_subsamples():
    from classifiers.train import fold_ids, subsample

    y = np.repeat(np.arange(6), 20).astype(float)
    ids = fold_ids(y, 5)
    assert (ids == fold_ids(y, 5)).all() and sorted(np.bincount(ids)) == [24] * 5
    for k in range(5):  # every fold holds every level
        assert len(np.unique(y[ids == k])) == 6
    half = subsample(np.arange(120), y, 0.5)
    assert len(half) == 60 and np.bincount(y[half].astype(int)).tolist() == [10] * 6
    assert (subsample(np.arange(120), y, 1.0) == np.arange(120)).all()
