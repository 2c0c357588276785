"""``train-classifier``, ``evaluate-classifier`` and ``score``: the educational-value model."""

from __future__ import annotations

import json
import sys

import click

from pipelines.commands._common import (
    inputs_argument,
    jsonl_output_option,
    model_dir_option,
    output_dir_option,
    user_errors,
)


@click.command("train-classifier")
@click.option(
    "--annotations",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL with 'text' and 'score' (0-5).",
)
@output_dir_option("Model directory to write.")
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
    from classifiers.scoring import windowed_texts

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
        student_texts=(lambda: windowed_texts(student_corpus, spec.max_chars))
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
@model_dir_option("Model directory (default: the shipped edu-minilm).")
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
    from classifiers.scoring import evaluate_on_labels

    body, raw = evaluate_on_labels(annotations, model_dir, card=card)
    click.echo(json.dumps(raw, indent=2) if as_json else body)


@click.command("score")
@inputs_argument
@jsonl_output_option("Scored records to write")
@click.option(
    "--profile",
    type=click.Choice(["web", "code"]),
    default="web",
    show_default=True,
    help="web: the edu-minilm model; code: the code edu model (classifiers/models/edu-code), "
    "source files read as code.",
)
@model_dir_option("Model directory (default: the profile's shipped model).")
@click.option("--batch-size", default=256, show_default=True, help="Documents per scoring batch.")
@click.option(
    "--cascade/--no-cascade",
    default=False,
    show_default=True,
    help="Use the cascade student; the teacher only for uncertain documents (web profile).",
)
@user_errors
def score(
    inputs: tuple[str, ...],
    output: str,
    profile: str,
    model_dir: str | None,
    batch_size: int,
    cascade: bool,
) -> None:
    """Add edu_score (float 0-5) and edu_int to every input record; nothing is dropped.

    Reads any input format primer reads (JSONL/Parquet/WARC/WET, plain or
    compressed; with --profile code also source files and folders of them). Lines
    that cannot be parsed as records are counted on stderr.

    \b
    Example:
        primer score '../shared/data/web/*.jsonl.gz' --output scored.jsonl.zst
        primer score pages.jsonl --output scored.jsonl --cascade
        primer score --profile code src/ --output code-scores.jsonl
    """
    from classifiers.scoring import score_inputs
    from pipelines.profiles import CodeProfileConfig

    languages = CodeProfileConfig().languages if profile == "code" else None
    report = score_inputs(
        inputs,
        output,
        profile=profile,
        model_dir=model_dir,
        batch_size=batch_size,
        cascade=cascade,
        source_languages=languages,
    )
    n = report.records
    click.echo(
        f"scored {n} records -> {output} ({n / max(report.seconds, 1e-9):.1f} docs/s)", err=True
    )
    if report.rejects:
        click.echo(f"{report.rejects} unreadable input records skipped", err=True)
    sys.stderr.flush()


commands = [train_classifier, evaluate_classifier, score]
