"""End-to-end fine-tuning (classifiers.finetune) on a tiny randomly initialised BERT."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifiers.finetune import FinetuneConfig, Regressor, cross_validate

from .conftest import tiny_bert

HIGH = "the lesson explains the theorem with a worked example and an exercise"
LOW = "buy cheap shoes now click here free shipping sale today"


def _tiny_encoder(path: Path) -> Path:
    tiny_bert(path, (HIGH + " " + LOW).split())
    return path


def _data(n: int = 40):
    rng = np.random.default_rng(0)
    texts, y = [], []
    for i in range(n):
        words = (HIGH if i % 2 == 0 else LOW).split()
        rng.shuffle(words)
        texts.append(" ".join(words[: rng.integers(6, len(words) + 1)]))
        y.append(4.0 if i % 2 == 0 else 0.0)
    return texts, np.asarray(y)


def test_training_separates_the_classes(tmp_path: Path):
    enc = _tiny_encoder(tmp_path / "enc")
    texts, y = _data()
    cfg = FinetuneConfig(
        encoder=str(enc), max_seq_length=32, epochs=10, batch_size=8, lr=1e-3, head_lr=0.03
    )
    untrained = Regressor(cfg).predict_raw(texts)
    assert np.allclose(untrained, 1.0)  # zero-initialised output: the start value
    model = Regressor(cfg).fit(texts, y, say=lambda _: None)
    raw = model.predict_raw(texts)
    assert raw[y == 4].mean() - raw[y == 0].mean() > 2.0
    model.tune_cut(raw, y)
    pred = model.predict(texts)
    assert pred.min() >= 0 and pred.max() <= 5
    assert np.mean((pred >= 3) == (y >= 3)) >= 0.95
    assert model.size_bytes() > 0


def test_cross_validation_runs_only_the_asked_folds(tmp_path: Path):
    enc = _tiny_encoder(tmp_path / "enc")
    texts, y = _data()
    cfg = FinetuneConfig(
        encoder=str(enc), max_seq_length=32, epochs=10, batch_size=8, lr=1e-3, head_lr=0.03
    )
    oof, info = cross_validate(texts, y, cfg, folds=4, run=[1], say=lambda _: None)
    from classifiers.train import fold_ids

    held = fold_ids(y, 4) == 1
    assert np.isfinite(oof[held]).all() and np.isnan(oof[~held]).all()
    assert np.mean((oof[held] >= 3) == (y[held] >= 3)) >= 0.9
    assert set(info["fold_seconds"]) == {1}
