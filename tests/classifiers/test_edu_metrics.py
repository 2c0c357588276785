from __future__ import annotations

import numpy as np

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
