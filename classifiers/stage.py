"""The classify stage: score alive documents 0-5 and drop those below ``min_edu_score``."""

from __future__ import annotations

from typing import Any

from classifiers.cascade import cascade_predict
from classifiers.config import ClassifyConfig
from classifiers.device import stage_resources, worker_device
from classifiers.embed import DEFAULT_MODEL, Embedder
from classifiers.metrics import to_int
from classifiers.model import EduModel, EduSpec, load_edu_model
from classifiers.student_scores import STUDENT_COLUMN, student_tag
from corpus.stage import Batch, Stage, alive, batch_len, mark_dropped

# The document embedding other steps may reuse (semantic dedup): the shipped teacher's.
SHARED_EMBEDDING = EduSpec()


def shares_embedding(spec: EduSpec) -> bool:
    """Whether a teacher's document vectors are the shared ones (same encoder and windows)."""
    keys = ("encoder", "pooling", "max_chars", "max_chunks", "quantize")
    return all(getattr(spec, k) == getattr(SHARED_EMBEDDING, k) for k in keys)


def shared_embedder(**kwargs) -> Embedder:
    s = SHARED_EMBEDDING
    return Embedder(
        DEFAULT_MODEL, pooling=s.pooling, max_chars=s.max_chars, max_chunks=s.max_chunks, **kwargs
    )


class StudentStage(Stage):
    """Adds ``edu_student``, the cascade student's score of every alive row (None for rows
    dropped earlier); drops nothing.

    Ingest runs it, so the student's cost (~2,000-3,000 docs/s per core) is spread over the
    ingest workers while the texts are in memory; the classify step then only sends the
    student's unsure band to the teacher (``EduStage`` reads the column).
    """

    name = "edu-student"

    def __init__(self, cfg: ClassifyConfig | None = None) -> None:
        self.cfg = cfg or ClassifyConfig()
        self.tag = student_tag(self.cfg)
        self.student: Any = None

    def setup(self) -> None:
        if self.student is None:
            self.student = load_edu_model(self.cfg.model, self.cfg.positive_label).student
            if self.student is None:
                raise ValueError(f"classify.model {self.cfg.model}: no cascade student")

    def process(self, batch: Batch) -> Batch:
        self.setup()
        live = [i for i, ok in enumerate(alive(batch)) if ok]
        scores: list[float | None] = [None] * batch_len(batch)
        if live:
            for i, s in zip(
                live, self.student.predict([batch["text"][i] or "" for i in live]), strict=True
            ):
                scores[i] = float(s)
        batch[STUDENT_COLUMN] = scores
        return batch


def edu_columns(predicted) -> tuple[list[float], list[int]]:
    """Model scores -> the stored ``edu_score`` (4 decimals) and ``edu_int`` (0-5) values."""
    return [round(float(s), 4) for s in predicted], [int(k) for k in to_int(predicted)]


class EduStage(Stage):
    """Adds ``edu_score`` (float, None for rows dropped earlier) and ``edu_int`` to every row.

    ``keep_embeddings``: also an ``embedding`` column, the teacher's document vector where
    it is the shared one (``SHARED_EMBEDDING``) and it embedded the row; else None (a
    plug-in scorer, the cascade student, another encoder), for the caller to embed.
    """

    name = "classify"

    def __init__(
        self, cfg: ClassifyConfig | None = None, keep_embeddings: bool = False, model: Any = None
    ) -> None:
        self.cfg = cfg or ClassifyConfig()
        self.keep_embeddings = keep_embeddings
        self.resources = stage_resources(self.cfg)
        self.model: EduModel | Any = None  # or a classifiers.plugins scorer
        self._loaded = model  # the scorer, when the caller loaded it already

    def setup(self) -> None:
        if self.model is not None:
            return
        device = worker_device(self.resources, self.cfg)
        model = self._loaded or load_edu_model(self.cfg.model, self.cfg.positive_label)
        options = {
            "device": device,
            "batch_size": self.cfg.encode_batch_size,
            "bf16": self.cfg.bf16,
        }
        self.model = model
        if self.cascade_on() and getattr(model, "student", None) is not None:
            model.defer_embedder(**options)  # the teacher only for the student's unsure band
        else:
            model.embedder(**options)

    def cascade_on(self) -> bool:
        """Whether the cascade scores: as configured; ``None``: on CPU workers only."""
        enabled = self.cfg.cascade.enabled
        return self.resources.gpus == 0 if enabled is None else enabled

    def score(self, texts: list[str]):
        return self.score_and_embed(texts)[0]

    def score_and_embed(self, texts: list[str], student: list[float | None] | None = None):
        """Scores, and the shared document vectors when the teacher computed them (else None).

        ``student``: the cascade student's scores from ingest (``edu_student``), if known.
        """
        assert self.model is not None
        c = self.cfg.cascade
        if self.cascade_on() and getattr(self.model, "student", None) is not None:
            return cascade_predict(self.model, texts, c.low, c.high, student).scores, None
        if (
            self.keep_embeddings
            and isinstance(self.model, EduModel)
            and shares_embedding(self.model.spec)
        ):
            emb = self.model.embed(texts)  # what predict would compute: scores unchanged
            return self.model.predict(texts, emb), emb
        return self.model.predict(texts), None

    def process(self, batch: Batch) -> Batch:
        self.setup()
        n = batch_len(batch)
        live = [i for i, ok in enumerate(alive(batch)) if ok]
        scores: list[float | None] = [None] * n
        ints: list[int | None] = [None] * n
        vectors: list[list[float] | None] = [None] * n
        if live:
            known = batch.get(STUDENT_COLUMN)
            predicted, emb = self.score_and_embed(
                [batch["text"][i] or "" for i in live],
                None if known is None else [known[i] for i in live],
            )
            for i, s, k in zip(live, *edu_columns(predicted), strict=True):
                scores[i], ints[i] = s, k
            if emb is not None:
                for i, v in zip(live, emb, strict=True):
                    vectors[i] = v.tolist()
        batch["edu_score"] = scores
        batch["edu_int"] = ints
        if self.keep_embeddings:
            batch["embedding"] = vectors
        low = [i for i in live if scores[i] < self.cfg.min_edu_score]  # type: ignore[operator]
        return mark_dropped(batch, low, self.name, ["low-edu"] * len(low))


class EmbedStage(Stage):
    """Adds ``embedding``, the shared document vector (``SHARED_EMBEDDING``), to every row:
    for a step that needs vectors the configured scorer did not compute. Same workers and
    resources as the classifier."""

    name = "embed"

    def __init__(self, cfg: ClassifyConfig | None = None) -> None:
        self.cfg = cfg or ClassifyConfig()
        self.resources = stage_resources(self.cfg)
        self.embedder: Embedder | None = None

    def setup(self) -> None:
        if self.embedder is None:
            device = worker_device(self.resources, self.cfg)
            self.embedder = shared_embedder(
                device=device, batch_size=self.cfg.encode_batch_size, bf16=self.cfg.bf16
            )

    def process(self, batch: Batch) -> Batch:
        self.setup()
        assert self.embedder is not None
        emb = self.embedder.encode([t or "" for t in batch["text"]])
        batch["embedding"] = [v.tolist() for v in emb]
        return batch
