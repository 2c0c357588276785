"""The classify stage: score alive documents 0-5 and drop those below ``min_edu_score``."""

from __future__ import annotations

from typing import Any

from classifiers.cascade import cascade_predict
from classifiers.config import ClassifyConfig
from classifiers.metrics import to_int
from classifiers.model import EduModel, load_edu_model
from corpus.stage import Batch, Resources, Stage, alive, batch_len, mark_dropped


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA install must not stop a CPU run
        return False


class EduStage(Stage):
    """Adds ``edu_score`` (float, None for rows dropped earlier) and ``edu_int`` to every row."""

    name = "classify"

    def __init__(self, cfg: ClassifyConfig | None = None) -> None:
        self.cfg = cfg or ClassifyConfig()
        gpus = self.cfg.gpus or (1.0 if cuda_available() else 0.0)
        self.resources = Resources(
            cpus=self.cfg.cpus,
            gpus=gpus,
            concurrency=self.cfg.concurrency,
            batch_size=self.cfg.batch_size,
        )
        self.model: EduModel | Any = None  # or a classifiers.plugins scorer

    def setup(self) -> None:
        if self.model is not None:
            return
        device = "cuda" if self.resources.gpus > 0 and cuda_available() else "cpu"
        if device == "cpu":
            import torch

            torch.set_num_threads(self.cfg.torch_threads or max(1, int(self.cfg.cpus)))
        model = load_edu_model(self.cfg.model, self.cfg.positive_label)
        model.embedder(device=device, batch_size=self.cfg.encode_batch_size, bf16=self.cfg.bf16)
        self.model = model

    def cascade_on(self) -> bool:
        """Whether the cascade scores: as configured; ``None``: on CPU workers only."""
        enabled = self.cfg.cascade.enabled
        return self.resources.gpus == 0 if enabled is None else enabled

    def score(self, texts: list[str]):
        assert self.model is not None
        c = self.cfg.cascade
        if self.cascade_on() and getattr(self.model, "student", None) is not None:
            return cascade_predict(self.model, texts, c.low, c.high).scores
        return self.model.predict(texts)

    def process(self, batch: Batch) -> Batch:
        self.setup()
        n = batch_len(batch)
        live = [i for i, ok in enumerate(alive(batch)) if ok]
        scores: list[float | None] = [None] * n
        ints: list[int | None] = [None] * n
        if live:
            predicted = self.score([batch["text"][i] or "" for i in live])
            for i, s, k in zip(live, predicted, to_int(predicted), strict=True):
                scores[i], ints[i] = round(float(s), 4), int(k)
        batch["edu_score"] = scores
        batch["edu_int"] = ints
        low = [i for i in live if scores[i] < self.cfg.min_edu_score]  # type: ignore[operator]
        return mark_dropped(batch, low, self.name, ["low-edu"] * len(low))
