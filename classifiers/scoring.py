"""Apply an edu model outside the pipeline: score input files, evaluate on held-out labels.

The library side of ``primer score`` and ``primer evaluate-classifier`` (the commands
only parse options). ``profile`` picks the model family: ``web`` (the MiniLM teacher,
optionally its cascade student) or ``code`` (``classifiers/code``, for source files).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.metrics import to_int
from corpus.readers import ReadStats, iter_records
from corpus.writer import JsonlWriter

Predict = Callable[[Sequence[str]], np.ndarray]
PROFILES = ("web", "code")


def load_scorer(
    profile: str = "web", model_dir: str | None = None, cascade: bool = False
) -> Predict:
    """``texts -> scores`` (0-5) for ``profile``; ``model_dir`` None: the shipped model."""
    if profile == "code":
        if cascade:
            raise ValueError("--cascade: the code model has no cascade student")
        from classifiers.code.model import load_code_model

        return load_code_model(model_dir).predict
    if profile != "web":
        raise ValueError(f"profile {profile!r}: expected one of {', '.join(PROFILES)}")
    from classifiers.model import load_edu_model

    model = load_edu_model(model_dir)
    model.embedder(bf16=None)  # bfloat16 where the hardware computes it natively
    if not cascade:
        return model.predict
    from classifiers.cascade import cascade_predict
    from classifiers.config import CascadeConfig

    c = CascadeConfig()
    return lambda texts: cascade_predict(model, texts, c.low, c.high).scores


def score_rows(
    rows: Iterable[dict[str, Any]], predict: Predict, batch_size: int = 256
) -> Iterator[dict[str, Any]]:
    """Each row (with ``text``) gains ``edu_score`` (4 decimals) and ``edu_int``, in order."""
    buf: list[dict[str, Any]] = []

    def flush() -> Iterator[dict[str, Any]]:
        scores = predict([r["text"] or "" for r in buf])
        for row, s, k in zip(buf, scores, to_int(scores), strict=True):
            row["edu_score"], row["edu_int"] = round(float(s), 4), int(k)
            yield row
        buf.clear()

    for row in rows:
        buf.append(row)
        if len(buf) >= batch_size:
            yield from flush()
    if buf:
        yield from flush()


@dataclass
class ScoreReport:
    records: int
    rejects: int
    seconds: float


def score_inputs(
    inputs: Sequence[str],
    output: str | Path,
    *,
    profile: str = "web",
    model_dir: str | None = None,
    batch_size: int = 256,
    cascade: bool = False,
    source_languages: list[str] | None = None,
) -> ScoreReport:
    """Score every readable record of ``inputs`` into one JSONL file; nothing is dropped.

    Rows are ``{id, text, url?, **metadata, edu_score, edu_int}``; input that cannot be
    parsed is counted in ``rejects``. ``source_languages`` also reads source files.
    """
    stats = ReadStats()
    records = iter_records(inputs, stats=stats, source_languages=source_languages)
    predict = load_scorer(profile, model_dir, cascade)
    t0 = time.perf_counter()

    def rows() -> Iterator[dict[str, Any]]:
        for rec in records:
            row: dict[str, Any] = {"id": rec.id, "text": rec.text}
            if rec.url:
                row["url"] = rec.url
            row.update({k: v for k, v in rec.metadata.items() if k not in row})
            yield row

    with JsonlWriter(output) as writer:
        for row in score_rows(rows(), predict, batch_size):
            writer.write(row)
        n = writer.n_records
    return ScoreReport(records=n, rejects=stats.rejects, seconds=time.perf_counter() - t0)


def evaluate_on_labels(
    annotations: str, model_dir: str | None = None, card: bool = False
) -> tuple[str, dict[str, Any]]:
    """Score labelled documents; the metrics as markdown and as a dict.

    ``card``: also append the markdown to the model directory's README.md (model card).
    """
    from classifiers.model import SHIPPED_MODEL, load_edu_model
    from classifiers.train import load_annotations, metrics_sections, now, subsets

    rows = load_annotations(annotations)
    y = np.asarray([float(r["score"]) for r in rows])
    pred = load_edu_model(model_dir).predict([r["text"] for r in rows])
    body, raw = metrics_sections(f"evaluation on {Path(annotations).name}", y, pred, subsets(rows))
    if card:
        readme = Path(model_dir or SHIPPED_MODEL) / "README.md"
        with open(readme, "a", encoding="utf-8") as f:
            f.write(f"\n## Evaluation ({now()}, `{annotations}`)\n\n{body}\n")
    return body, raw


def windowed_texts(inputs: Sequence[str], max_chars: int, limit: int | None = None) -> list[str]:
    """Unlabelled texts for a student: each non-empty document cut into ``max_chars`` windows."""
    out: list[str] = []
    for rec in iter_records(inputs):
        if rec.text.strip():
            t = rec.text
            out += [t[i : i + max_chars] for i in range(0, len(t), max_chars)]
    return out[:limit] if limit else out
