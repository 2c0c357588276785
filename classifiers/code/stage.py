"""The code profile's classify stage: same columns and drop rule as ``EduStage``."""

from __future__ import annotations

from classifiers.code.model import CodeEduModel, load_code_model
from classifiers.metrics import to_int
from corpus.stage import Batch, Resources, Stage, alive, batch_len, mark_dropped


class CodeEduStage(Stage):
    """Adds ``edu_score`` and ``edu_int`` with the code model; drops below ``min_edu_score``."""

    name = "classify"

    def __init__(
        self, model: str | None = None, min_edu_score: float = 3.0, batch_size: int = 128
    ) -> None:
        self.model_path = model
        self.min_edu_score = min_edu_score
        self.resources = Resources(cpus=1.0, batch_size=batch_size)
        self.model: CodeEduModel | None = None

    def setup(self) -> None:
        if self.model is None:
            self.model = load_code_model(self.model_path)

    def process(self, batch: Batch) -> Batch:
        self.setup()
        assert self.model is not None
        n = batch_len(batch)
        live = [i for i, ok in enumerate(alive(batch)) if ok]
        scores: list[float | None] = [None] * n
        ints: list[int | None] = [None] * n
        if live:
            predicted = self.model.predict([batch["text"][i] or "" for i in live])
            for i, s, k in zip(live, predicted, to_int(predicted), strict=True):
                scores[i], ints[i] = round(float(s), 4), int(k)
        batch["edu_score"] = scores
        batch["edu_int"] = ints
        low = [i for i in live if scores[i] < self.min_edu_score]  # type: ignore[operator]
        return mark_dropped(batch, low, self.name, ["low-edu"] * len(low))
