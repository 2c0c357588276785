"""The code edu model: code features + stacked n-gram scores (+ MiniLM embedding) -> EduHead.

Same persistence shape as the web model (``spec.json``, ``model.joblib``,
``meta.json``, ``README.md``) but its own feature set: the judge read the first
3,000 characters of a source file, so that is what is embedded, and the web
model's prose features are replaced by ``classifiers.code.features``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from classifiers.code.features import MAX_CHARS, CodeFeatures
from classifiers.code.gemma import GEMMA_ENCODER, GemmaEncoder
from classifiers.embed import DEFAULT_MODEL, Embedder
from classifiers.heads import EduHead
from classifiers.model import oof_predict
from classifiers.ngram_ridge import char_regressor
from classifiers.student import ngram_regressor


def encoder_regressor() -> Any:
    """Standardised embedding -> ridge: the encoder enters the head as one stacked score
    (raw dimensions let a forest learn a repository's subject)."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge(alpha=1000.0))


SHIPPED_CODE_MODEL = Path(__file__).resolve().parents[1] / "models" / "edu-code"
FORMAT_VERSION = 1


@dataclass
class CodeSpec:
    encoder: str | None = DEFAULT_MODEL  # None: code features only (no encoder at all)
    pooling: str = "first"  # first 256-token window: a quarter of "mean"'s encoder cost
    max_chars: int = MAX_CHARS
    max_chunks: int = 1
    code_features: bool = True
    stack_ngram: bool = True  # append an out-of-fold hashed word n-gram ridge score
    stack_char: bool = False  # append an out-of-fold hashed character n-gram ridge score
    stack_encoder: bool = False  # the encoder as one out-of-fold ridge score, not raw dimensions
    head: dict[str, Any] = field(default_factory=lambda: {"kind": "forest"})


class CodeEduModel:
    """Source texts -> educational score in [0, 5]."""

    def __init__(self, spec: CodeSpec | None = None) -> None:
        self.spec = spec or CodeSpec()
        self.head: EduHead | None = None
        self.stacked: Any = None  # fitted ngram_regressor() when spec.stack_ngram
        self.stacked_char: Any = None  # fitted char_regressor() when spec.stack_char
        self.stacked_encoder: Any = None  # fitted encoder_regressor() when spec.stack_encoder
        self.meta: dict[str, Any] = {}
        self._embedder: Embedder | GemmaEncoder | None = None

    def embedder(self, **kwargs: Any) -> Embedder | GemmaEncoder:
        if self._embedder is None:
            s = self.spec
            if s.encoder and s.encoder.startswith(GEMMA_ENCODER):  # "<name>/layer<k>"
                layer = int(s.encoder.rpartition("/layer")[2] or 9)
                self._embedder = GemmaEncoder(layer, max_chars=s.max_chars)
                return self._embedder
            self._embedder = Embedder(
                s.encoder,
                pooling=s.pooling,
                max_chars=s.max_chars,
                max_chunks=s.max_chunks,
                **kwargs,
            )
        return self._embedder

    def features(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray | None = None,
        stacked: np.ndarray | None = None,
        stacked_char: np.ndarray | None = None,
        stacked_encoder: np.ndarray | None = None,
    ) -> np.ndarray:
        parts = []
        if self.spec.encoder is not None:
            if self.spec.stack_encoder and stacked_encoder is None:
                emb = self.embedder().encode(texts) if embeddings is None else embeddings
                assert self.stacked_encoder is not None, "model is not fitted"
                stacked_encoder = self.stacked_encoder.predict(np.asarray(emb, dtype=np.float64))
            if self.spec.stack_encoder:
                parts.append(np.asarray(stacked_encoder, dtype=np.float64)[:, None])
            else:
                emb = self.embedder().encode(texts) if embeddings is None else embeddings
                parts.append(np.asarray(emb, dtype=np.float64))
        if self.spec.code_features:
            parts.append(CodeFeatures(self.spec.max_chars).fit_transform(texts))
        if self.spec.stack_ngram:
            if stacked is None:
                assert self.stacked is not None, "model is not fitted"
                stacked = self.stacked.predict(texts)
            parts.append(np.asarray(stacked, dtype=np.float64)[:, None])
        if self.spec.stack_char:
            if stacked_char is None:
                assert self.stacked_char is not None, "model is not fitted"
                stacked_char = self.stacked_char.predict(texts)
            parts.append(np.asarray(stacked_char, dtype=np.float64)[:, None])
        if not parts:
            raise ValueError("CodeSpec uses neither an encoder nor code features")
        return np.hstack(parts)

    def fit(
        self, texts: Sequence[str], y: Sequence[float], embeddings: np.ndarray | None = None
    ) -> CodeEduModel:
        y = np.asarray(y, dtype=float)
        stacked = stacked_char = stacked_encoder = None
        if self.spec.encoder is not None and self.spec.stack_encoder:
            if embeddings is None:
                embeddings = self.embedder().encode(texts)
            emb = np.asarray(embeddings, dtype=np.float64)
            stacked_encoder = oof_predict(encoder_regressor, emb, y)
            self.stacked_encoder = encoder_regressor().fit(emb, y)
        if self.spec.stack_ngram:  # out-of-fold, so the head never sees a memorised score
            stacked = oof_predict(ngram_regressor, texts, y)
            self.stacked = ngram_regressor().fit(texts, y)
        if self.spec.stack_char:  # hashing is stateless: hash once, fit the rest per fold
            hashed = char_regressor()[0].transform(texts)
            stacked_char = oof_predict(lambda: char_regressor()[1:], hashed, y)
            self.stacked_char = char_regressor().fit(texts, y)
        X = self.features(texts, embeddings, stacked, stacked_char, stacked_encoder)
        self.head = EduHead(**self.spec.head).fit(X, y)
        return self

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("CodeEduModel is not fitted; use fit() or load_code_model()")
        if len(texts) == 0:
            return np.zeros(0)
        return np.clip(self.head.predict(self.features(texts, embeddings)), 0.0, 5.0)

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        spec = {"format_version": FORMAT_VERSION, "kind": "code", **asdict(self.spec)}
        (out / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
        parts = {
            "head": self.head,
            "stacked": self.stacked,
            "stacked_char": self.stacked_char,
            "stacked_encoder": self.stacked_encoder,
        }
        joblib.dump(parts, out / "model.joblib", compress=3)
        (out / "meta.json").write_text(json.dumps(self.meta, indent=2, default=str) + "\n")
        return out

    @classmethod
    def load(cls, path: str | Path) -> CodeEduModel:
        src = Path(path)
        spec = json.loads((src / "spec.json").read_text())
        if spec.pop("format_version", None) != FORMAT_VERSION or spec.pop("kind", None) != "code":
            raise ValueError(f"{src}: not a code model directory (spec.json kind 'code')")
        model = cls(CodeSpec(**spec))
        parts = joblib.load(src / "model.joblib")
        model.head, model.stacked = parts["head"], parts.get("stacked")
        model.stacked_char = parts.get("stacked_char")
        model.stacked_encoder = parts.get("stacked_encoder")
        meta = src / "meta.json"
        model.meta = json.loads(meta.read_text()) if meta.exists() else {}
        return model


def load_code_model(path: str | Path | None = None) -> CodeEduModel:
    """The model in ``path``, or the shipped ``classifiers/models/edu-code``."""
    return CodeEduModel.load(path or SHIPPED_CODE_MODEL)
