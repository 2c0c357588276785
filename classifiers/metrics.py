"""Evaluation of 0-5 score predictions against judge labels, and its text rendering."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

LEVELS = list(range(6))


def to_int(scores: np.ndarray) -> np.ndarray:
    """Float scores -> integer levels 0-5 (round half up, like FineWeb-Edu's int_score)."""
    return np.clip(np.floor(np.asarray(scores, dtype=float) + 0.5), 0, 5).astype(int)


def evaluate(y_true: np.ndarray, y_pred: np.ndarray, cut: float = 3.0) -> dict[str, Any]:
    """Binary P/R/F1 and ROC AUC at ``>= cut``, per-level F1, Spearman, confusion matrix,
    calibration, and the share of documents kept (``>= cut``) by the labels and the model."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    t_bin, p_bin = y_true >= cut, y_pred >= cut
    p, r, f, _ = precision_recall_fscore_support(t_bin, p_bin, average="binary", zero_division=0)
    ti, pi = to_int(y_true), to_int(y_pred)
    per_class = f1_score(ti, pi, labels=LEVELS, average=None, zero_division=0)
    rho = spearmanr(y_true, y_pred).statistic if len(y_true) > 1 else float("nan")
    auc = roc_auc_score(t_bin, y_pred) if 0 < t_bin.sum() < len(t_bin) else None
    calibration = []
    for level in LEVELS:
        sel = pi == level
        calibration.append(
            {
                "predicted": level,
                "n": int(sel.sum()),
                "mean_label": float(y_true[sel].mean()) if sel.any() else None,
                "frac_label_ge_cut": float(t_bin[sel].mean()) if sel.any() else None,
            }
        )
    return {
        "n": int(len(y_true)),
        "positives": int(t_bin.sum()),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "spearman": float(rho) if rho == rho else None,
        "auc": None if auc is None else float(auc),
        "kept_by_labels": float(t_bin.mean()) if len(t_bin) else 0.0,
        "kept_by_model": float(p_bin.mean()) if len(p_bin) else 0.0,
        "per_class_f1": {str(k): float(v) for k, v in zip(LEVELS, per_class, strict=True)},
        "confusion": confusion_matrix(ti, pi, labels=LEVELS).tolist(),
        "calibration": calibration,
    }


def render(name: str, m: dict[str, Any]) -> str:
    """A Markdown block for the model card and the terminal."""
    rho = "n/a" if m["spearman"] is None else f"{m['spearman']:.3f}"
    auc = "n/a" if m.get("auc") is None else f"{m['auc']:.3f}"
    kept = (
        f"; kept: {m['kept_by_model']:.1%} (labels: {m['kept_by_labels']:.1%})"
        if "kept_by_model" in m
        else ""
    )
    lines = [
        f"### {name}",
        "",
        f"n={m['n']} (label >= 3: {m['positives']}); binary at >= 3: "
        f"**precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}**; "
        f"Spearman **{rho}**; AUC {auc}{kept}",
        "",
        "per-level F1: " + ", ".join(f"{k}: {v:.2f}" for k, v in m["per_class_f1"].items()),
        "",
        "confusion (rows = label, columns = predicted level):",
        "",
        "| label | " + " | ".join(str(k) for k in LEVELS) + " |",
        "|---|" + "---|" * len(LEVELS),
    ]
    for k, row in zip(LEVELS, m["confusion"], strict=True):
        lines.append(f"| {k} | " + " | ".join(str(v) for v in row) + " |")
    lines += [
        "",
        "calibration (by predicted level):",
        "",
        "| predicted | n | mean label | share >= 3 |",
        "|---|---|---|---|",
    ]
    for c in m["calibration"]:
        mean = "-" if c["mean_label"] is None else f"{c['mean_label']:.2f}"
        share = "-" if c["frac_label_ge_cut"] is None else f"{c['frac_label_ge_cut']:.2f}"
        lines.append(f"| {c['predicted']} | {c['n']} | {mean} | {share} |")
    return "\n".join(lines) + "\n"
