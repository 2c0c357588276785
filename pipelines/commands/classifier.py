"""``train-classifier``, ``evaluate-classifier`` and ``score``: the educational-value model."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

from pipelines.commands._common import user_errors


def _rows_texts_scores(path: str):
    from classifiers.train import load_annotations

    rows = load_annotations(path)
    return rows, [r["text"] for r in rows], np.asarray([float(r["score"]) for r in rows])


def _student_texts(patterns: tuple[str, ...], max_chars: int, limit: int | None) -> list[str]:
    """Unlabelled texts for the student: each document cut into ``max_chars`` windows."""
    from corpus.readers.base import Record
    from corpus.readers.inputs import expand_inputs, read_path

    out: list[str] = []
    for path in expand_inputs(list(patterns)):
        for rec in read_path(path):
            if isinstance(rec, Record) and rec.text.strip():
                t = rec.text
                out += [t[i : i + max_chars] for i in range(0, len(t), max_chars)]
    return out[:limit] if limit else out


@click.command("train-classifier")
@click.option(
    "--annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL with 'text' and 'score' (0-5).",
)
@click.option(
    "--output", required=True, type=click.Path(file_okay=False), help="Model directory to write."
)
@click.option(
    "--encoder",
    default="all-MiniLM-L6-v2",
    show_default=True,
    help="sentence-transformers name or path.",
)
@click.option(
    "--head",
    "head_kind",
    type=click.Choice(["ensemble", "ridge", "logistic", "forest", "boosting"]),
    default="ensemble",
    show_default=True,
    help="scikit-learn head.",
)
@click.option(
    "--pooling",
    type=click.Choice(["mean", "first"]),
    default="mean",
    show_default=True,
    help="Pool token windows: mean over windows or first window.",
)
@click.option(
    "--quantize/--no-quantize",
    default=False,
    show_default=True,
    help="Dynamic int8 encoder on CPU; with --pooling first, the fast full-MiniLM path "
    "(speed and cross-validated cost in the model card).",
)
@click.option(
    "--stack-student/--no-stack-student",
    default=True,
    show_default=True,
    help="Stack an out-of-fold hashed word n-gram ridge score into the head's features.",
)
@click.option(
    "--student",
    "student_kind",
    type=click.Choice(["static", "fasttext", "none"]),
    default="static",
    show_default=True,
    help="Cascade student: static MiniLM embedding + lexical + n-gram ridge on the judge labels "
    "(classifiers.static), or fastText on labels + teacher scores over --student-corpus.",
)
@click.option(
    "--student-corpus",
    multiple=True,
    help="Unlabelled inputs (paths/globs) the fastText student learns the teacher's scores on (repeatable).",
)
@click.option(
    "--cv",
    "folds",
    default=5,
    show_default=True,
    help="Cross-validation folds for the model card (0: skip).",
)
@click.option(
    "--batch-size", default=64, show_default=True, help="Token windows per encoder batch."
)
@click.option(
    "--student-quantize/--no-student-quantize",
    default=True,
    show_default=True,
    help="Product-quantize the student (~10x smaller file; ~1 min of k-means).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep label-text embeddings here to retrain without re-embedding (e.g. .cache/edu).",
)
@click.option(
    "--learning-curve/--no-learning-curve",
    default=True,
    show_default=True,
    help="Cross-validate at 25/50/75/100% of the labels for the model card.",
)
@click.option(
    "--compare-encoder",
    multiple=True,
    help="Another sentence-transformers path cross-validated on the same folds (repeatable).",
)
@user_errors
def train_classifier(
    annotations: str,
    output: str,
    encoder: str,
    head_kind: str,
    pooling: str,
    quantize: bool,
    stack_student: bool,
    student_kind: str,
    student_corpus: tuple[str, ...],
    folds: int,
    batch_size: int,
    student_quantize: bool,
    cache_dir: str | None,
    learning_curve: bool,
    compare_encoder: tuple[str, ...],
) -> None:
    """Train the educational-value model on judge labels and write MODEL_DIR with its model card.

    Embeds each document with a frozen sentence-transformer, adds lexical
    features and (by default) a stacked n-gram ridge score, fits a scikit-learn
    head, and reports out-of-fold metrics on all labels and on random web
    pages. It also trains the fast cascade student (by default the static
    MiniLM student on the judge labels) and reports, on the same folds, the
    student alone and the cascade at the configured band.

    \b
    Example:
        primer train-classifier --annotations ../shared/data/labels/edu-annotations.jsonl \\
            --output classifiers/models/edu-minilm
    """
    from classifiers.model import EduSpec
    from classifiers.retrain import train_edu

    spec = EduSpec(
        encoder=encoder,
        pooling=pooling,
        quantize=quantize,
        stack_student=stack_student,
        head={"kind": head_kind},
    )
    train_edu(
        annotations,
        output,
        spec,
        student_kind=student_kind,
        student_texts=(lambda: _student_texts(student_corpus, spec.max_chars, None))
        if student_corpus
        else None,
        student_quantize=student_quantize,
        folds=folds,
        batch_size=batch_size,
        cache_dir=cache_dir,
        curve=learning_curve,
        compare=[EduSpec(**{**spec.__dict__, "encoder": e}) for e in compare_encoder],
        say=lambda msg: click.echo(msg, err=True),
    )


@click.command("evaluate-classifier")
@click.option(
    "--model",
    "model_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Model directory (default: the shipped edu-minilm).",
)
@click.option(
    "--annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL with 'text' and 'score' (0-5).",
)
@click.option(
    "--card/--no-card",
    default=True,
    show_default=True,
    help="Append the results to MODEL_DIR/README.md.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@user_errors
def evaluate_classifier(model_dir: str | None, annotations: str, card: bool, as_json: bool) -> None:
    """Score labelled documents with a trained model and print its quality.

    Binary precision/recall/F1 at score >= 3, per-level F1, Spearman, a
    confusion matrix and a calibration table, on all records and on random web
    pages when the file says which they are. Use labels the model was not
    trained on: on its own training data the numbers are inflated.

    \b
    Example:
        primer evaluate-classifier --model classifiers/models/edu-minilm --annotations held-out.jsonl
    """
    from classifiers.model import SHIPPED_MODEL, load_edu_model
    from classifiers.train import metrics_sections, now, subsets

    rows, texts, y = _rows_texts_scores(annotations)
    model = load_edu_model(model_dir)
    pred = model.predict(texts)
    body, raw = metrics_sections(f"evaluation on {Path(annotations).name}", y, pred, subsets(rows))
    click.echo(json.dumps(raw, indent=2) if as_json else body)
    if card:
        readme = Path(model_dir or SHIPPED_MODEL) / "README.md"
        with open(readme, "a", encoding="utf-8") as f:
            f.write(f"\n## Evaluation ({now()}, `{annotations}`)\n\n{body}\n")


@click.command("score")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output .jsonl, .jsonl.gz or .jsonl.zst.",
)
@click.option(
    "--model",
    "model_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Model directory (default: the shipped edu-minilm).",
)
@click.option("--batch-size", default=256, show_default=True, help="Documents per scoring batch.")
@click.option(
    "--cascade/--no-cascade",
    default=False,
    show_default=True,
    help="Use the cascade student; the teacher only for uncertain documents.",
)
@user_errors
def score(
    inputs: tuple[str, ...], output: str, model_dir: str | None, batch_size: int, cascade: bool
) -> None:
    """Add edu_score (float 0-5) and edu_int to every input record; nothing is dropped.

    Reads any input format primer reads (JSONL/Parquet/WARC/WET, plain or
    compressed). Lines that cannot be parsed as records are counted on stderr.

    \b
    Example:
        primer score '../shared/data/web/*.jsonl.gz' --output scored.jsonl.zst
        primer score pages.jsonl --output scored.jsonl --cascade
    """
    from classifiers.cascade import cascade_predict
    from classifiers.config import CascadeConfig
    from classifiers.metrics import to_int
    from classifiers.model import load_edu_model
    from corpus.readers.base import Record
    from corpus.readers.inputs import expand_inputs, read_path
    from corpus.writer import JsonlWriter

    model = load_edu_model(model_dir)
    model.embedder(bf16=None)  # bfloat16 where the hardware computes it natively
    c = CascadeConfig()
    files = expand_inputs(list(inputs))
    rejects = 0
    t0 = time.perf_counter()

    def flush(buf: list[dict], writer: JsonlWriter) -> None:
        texts = [r["text"] or "" for r in buf]
        s = cascade_predict(model, texts, c.low, c.high).scores if cascade else model.predict(texts)
        for rec, v, k in zip(buf, s, to_int(s), strict=True):
            rec["edu_score"], rec["edu_int"] = round(float(v), 4), int(k)
            writer.write(rec)
        buf.clear()

    with JsonlWriter(output) as writer:
        buf: list[dict] = []
        for path in files:
            for rec in read_path(path):
                if not isinstance(rec, Record):
                    rejects += 1
                    continue
                row = {"id": rec.id, "text": rec.text}
                if rec.url:
                    row["url"] = rec.url
                row.update({k: v for k, v in rec.metadata.items() if k not in row})
                buf.append(row)
                if len(buf) >= batch_size:
                    flush(buf, writer)
        if buf:
            flush(buf, writer)
        n = writer.n_records
    dt = time.perf_counter() - t0
    click.echo(f"scored {n} records -> {output} ({n / max(dt, 1e-9):.1f} docs/s)", err=True)
    if rejects:
        click.echo(f"{rejects} unreadable input records skipped", err=True)
    sys.stderr.flush()


commands = [train_classifier, evaluate_classifier, score]
