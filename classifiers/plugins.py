"""Bring-your-own quality models for ``classify.model``: a fastText ``.bin`` or a Hugging Face directory.

Both map onto the 0-5 scale that ``classify.min_edu_score`` cuts:

* fastText classifier (DCLM's OpenHermes/ELI5 filter is one): ``5 * P(positive label)``,
  so the default cut 3.0 keeps documents with P >= 0.6;
* Hugging Face sequence classification: one output (FineWeb-Edu's regression
  head) gives ``clip(logit, 0, 5)``, whose rounding is FineWeb-Edu's ``int_score``;
  several outputs give the expected label ``sum(p_k * k)`` when there are six
  (0-5), otherwise ``5 * P(positive label)``.

Everything loads from disk (``local_files_only``); nothing is downloaded. The
scorers expose what the classify stage and ``primer score`` call on an
``EduModel``: ``predict``, ``embedder`` (device/batch settings), ``student``, ``meta``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_WS = re.compile(r"\s+")
TOP = 5.0


def is_fasttext_file(path: str | Path) -> bool:
    return Path(path).is_file() and Path(path).suffix in (".bin", ".ftz")


def is_hf_dir(path: str | Path) -> bool:
    """A transformers model directory (``config.json``), not a ``primer train-classifier`` one."""
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and not (p / "spec.json").is_file()


class FastTextQuality:
    """A fastText classifier as an edu scorer: ``5 * P(positive_label)`` per document.

    Texts are cut to ``max_chars`` and newlines become spaces (fastText predicts one line).
    """

    student = None

    def __init__(self, path: str | Path, positive_label: str, max_chars: int = 2000) -> None:
        import fasttext

        self.path = str(path)
        self.max_chars = max_chars
        self._ft = fasttext.load_model(self.path)
        labels = list(self._ft.get_labels())
        label = positive_label if positive_label in labels else f"__label__{positive_label}"
        if label not in labels:
            raise ValueError(
                f"{path}: positive label {positive_label!r} is not one of the model's "
                f"labels {labels[:10]}; set classify.positive_label"
            )
        self.label = label
        self.meta: dict[str, Any] = {"plugin": "fasttext", "path": self.path, "label": label}

    def embedder(self, **_: Any) -> None:
        """No encoder: device and batch settings do not apply."""
        return None

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros(0)
        lines = [_WS.sub(" ", (t or "")[: self.max_chars]).strip() for t in texts]
        labels, probs = self._ft.predict(lines, k=-1)
        out = np.zeros(len(lines))
        for i, (ls, ps) in enumerate(zip(labels, probs, strict=True)):
            for lab, p in zip(ls, ps, strict=True):
                if lab == self.label:
                    out[i] = float(p)
        return np.clip(TOP * out, 0.0, TOP)


class HFSequenceScorer:
    """A Hugging Face ``AutoModelForSequenceClassification`` directory as an edu scorer."""

    student = None

    def __init__(
        self,
        path: str | Path,
        positive_label: str | None = None,
        max_length: int = 512,
        batch_size: int = 32,
        device: str = "cpu",
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path = str(path)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            self.path, local_files_only=True
        ).eval()
        self.max_length = min(max_length, int(self.model.config.max_position_embeddings))
        self.batch_size = batch_size
        self.device = device
        n = int(self.model.config.num_labels)
        self.positive = None
        if n > 1 and n != 6:
            names = {str(v): int(k) for k, v in self.model.config.id2label.items()}
            if positive_label is None or str(positive_label) not in names:
                raise ValueError(
                    f"{path}: {n} output classes {sorted(names)}; set classify.positive_label "
                    "to the one that means high quality"
                )
            self.positive = names[str(positive_label)]
        self.meta: dict[str, Any] = {"plugin": "huggingface", "path": self.path, "outputs": n}

    def embedder(self, device: str | None = None, batch_size: int | None = None, **_: Any):
        """Move the model to ``device`` and set the batch size (the stage's settings)."""
        if device:
            self.device = device
            self.model.to(device)
        if batch_size:
            self.batch_size = batch_size
        return None

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for b in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(
                    [t or "" for t in texts[b : b + self.batch_size]],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                out.append(self.model(**enc).logits.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.config.num_labels))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros(0)
        z = self.logits(texts)
        if z.shape[1] == 1:  # regression head (FineWeb-Edu)
            return np.clip(z[:, 0], 0.0, TOP)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        if self.positive is None:  # six classes: the expected level
            return np.clip(p @ np.arange(z.shape[1], dtype=float), 0.0, TOP)
        return TOP * p[:, self.positive]


def load_plugin(path: str | Path, positive_label: str | None = None):
    """The plug-in scorer for ``path``, or None when it is a ``primer train-classifier`` directory."""
    if is_fasttext_file(path):
        if not positive_label:
            raise ValueError(f"{path}: a fastText model needs classify.positive_label")
        return FastTextQuality(path, positive_label)
    if is_hf_dir(path):
        return HFSequenceScorer(path, positive_label)
    return None
