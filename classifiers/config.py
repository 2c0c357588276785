"""Config of the educational-value classify stage."""

from __future__ import annotations

from pydantic import Field

from corpus.config_base import Section


class CascadeConfig(Section):
    """Fast student first; only documents it is unsure about go to the MiniLM teacher.

    On by default on CPU workers (``enabled: null``), off on GPUs, where the teacher
    alone is fast. The student (a mean of four static students fitted to the labels and
    to the teacher's scores; model card) makes the cascade's keep decisions agree with
    the teacher's on 0.952 of the labels (out of fold, 0.2% sent to the teacher) and
    0.905 of the demo sample (Python docs, READMEs, licences): the 0.95 / 0.90 the
    project asks of a default, at thousands of documents per second per core where the
    teacher scores ~10-14. ``false`` scores every document with the teacher.
    The band: the model card's (well under 1% of web documents sent to the teacher).
    """

    enabled: bool | None = Field(
        None,
        description="score with the student and send only uncertain docs to the teacher; "
        "null = on for CPU workers, off on GPUs",
    )
    low: float = Field(
        2.995, description="student score below this: trusted as low, teacher skipped"
    )
    high: float = Field(
        3.005, description="student score at or above this: trusted as high, teacher skipped"
    )
    in_ingest: bool = Field(
        True,
        description="score the student during ingest, on the ingest workers (column "
        "edu_student): the classify step then runs only the teacher, on the unsure band",
    )


class ClassifyConfig(Section):
    enabled: bool = Field(True, description="run the educational-value classifier")
    model: str | None = Field(
        None,
        description="scorer: a directory from `primer train-classifier`, a fastText .bin "
        "classifier (score = 5 * P(positive_label)) or a Hugging Face sequence-classification "
        "directory (one regression output, FineWeb-Edu style: clip(logit, 0, 5)); "
        "None = the shipped edu-minilm",
    )
    positive_label: str | None = Field(
        None,
        description="the high-quality class of a fastText or multi-class Hugging Face model "
        "(e.g. __label__hq)",
    )
    min_edu_score: float = Field(
        3.0,
        ge=0.0,
        le=5.0,
        description="drop documents scoring below this; scores run 0-5 (FineWeb-Edu's cut: 3)",
    )
    batch_size: int = Field(256, ge=1, description="documents per batch handed to a worker")
    encode_batch_size: int = Field(64, ge=1, description="token windows per encoder forward pass")
    in_process_max_docs: int = Field(
        100_000,
        ge=0,
        description="with the cascade on CPUs, at most this much work is scored in the driver "
        "process, counted in student scores (~3,000 docs/s per core; a teacher score, for the "
        "student's unsure band, counts 200; an actor pool costs ~20 s and ~2 GB to start); "
        "more goes to the actor pool (0: always). Where ingest stored the student's scores, "
        "only the band is left, scored here at any size unless the Ray cluster has more CPUs "
        "than this machine",
    )
    gpus: float = Field(
        0, ge=0, description="GPUs per worker; 0 = auto (1 if torch sees CUDA, else CPU)"
    )
    cpus: float = Field(1.0, gt=0, description="CPU cores per worker")
    concurrency: int | None = Field(
        None, ge=1, description="size of the worker (actor) pool; None = backend default"
    )
    torch_threads: int | None = Field(
        None, ge=1, description="torch intra-op threads per CPU worker; None = cpus"
    )
    bf16: bool | None = Field(
        None,
        description="run the encoder in bfloat16; None = where the hardware computes it natively "
        "(GPUs, CPUs with AVX-512-BF16/AMX: ~2x, embeddings at cosine 0.9999 to float32)",
    )
    cascade: CascadeConfig = Field(default_factory=CascadeConfig)
