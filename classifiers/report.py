"""Model-card tables that compare scorers on the same folds: the comparison and the learning curve.

Every row is out-of-fold on the ``train.fold_ids`` folds (seed 0), so rows
differ only by the model, never by which documents were held out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classifiers.metrics import evaluate
from classifiers.model import EduSpec
from classifiers.train import cross_validate

FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def _cell(m: dict[str, Any]) -> str:
    auc = "-" if m.get("auc") is None else f"{m['auc']:.3f}"
    rho = "-" if m.get("spearman") is None else f"{m['spearman']:.3f}"
    return f"{m['precision']:.3f} / {m['recall']:.3f} / **{m['f1']:.3f}** / {rho} / {auc}"


def comparison_table(
    y: np.ndarray, preds: dict[str, np.ndarray], masks: dict[str, np.ndarray]
) -> tuple[str, dict[str, Any]]:
    """One row per scorer: precision / recall / F1 at >= 3, Spearman, AUC, per subset."""
    subs = list(masks)
    head = "| scorer | " + " | ".join(f"{s}: P / R / F1 / Spearman / AUC" for s in subs) + " |"
    lines = [head, "|---" * (len(subs) + 1) + "|"]
    raw: dict[str, Any] = {}
    for name, pred in preds.items():
        cells = []
        for sub in subs:
            m = evaluate(y[masks[sub]], pred[masks[sub]])
            raw.setdefault(name, {})[sub] = {
                k: m[k] for k in ("precision", "recall", "f1", "spearman", "auc", "kept_by_model")
            }
            cells.append(_cell(m))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines), raw


def learning_curve(
    spec: EduSpec,
    texts: Sequence[str],
    y: np.ndarray,
    embeddings: np.ndarray,
    masks: dict[str, np.ndarray],
    tune_mask: np.ndarray | None = None,
    fractions: Sequence[float] = FRACTIONS,
    folds: int = 5,
    full: np.ndarray | None = None,
    cache_dir=None,
    say=lambda _msg: None,
) -> tuple[str, list[dict[str, Any]]]:
    """Out-of-fold quality when each fold trains on a stratified share of its training rows.

    The held-out folds stay whole, so every point is measured on the same documents.
    ``full``: the out-of-fold scores at 100% when already computed (same folds, same spec).
    """
    rows: list[dict[str, Any]] = []
    subs = list(masks)
    lines = [
        "| labels used | training docs per fold | "
        + " | ".join(f"{s}: P / R / F1 / Spearman / AUC" for s in subs)
        + " |",
        "|---" * (len(subs) + 2) + "|",
    ]
    n_train = int(round(len(y) * (folds - 1) / folds))
    for f in fractions:
        if f >= 1.0 and full is not None:
            oof = full
        else:
            oof = cross_validate(spec, texts, y, embeddings, folds, tune_mask=tune_mask, fraction=f)
        row: dict[str, Any] = {"fraction": f, "train_docs": int(round(n_train * f))}
        cells = []
        for sub in subs:
            m = evaluate(y[masks[sub]], oof[masks[sub]])
            row[sub] = {k: m[k] for k in ("precision", "recall", "f1", "spearman", "auc")}
            cells.append(_cell(m))
        rows.append(row)
        lines.append(f"| {f:.0%} | {row['train_docs']} | " + " | ".join(cells) + " |")
        say(f"learning curve {f:.0%}: " + "; ".join(f"{s} F1 {row[s]['f1']:.3f}" for s in subs))
    return "\n".join(lines), rows
