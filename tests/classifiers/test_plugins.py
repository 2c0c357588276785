"""Bring-your-own scorers for classify.model: a fastText .bin and a Hugging Face directory,
both built here (tiny, offline), loaded through the same path the stage uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from classifiers.config import CascadeConfig, ClassifyConfig
from classifiers.fasttext_student import train_fasttext
from classifiers.model import load_edu_model
from classifiers.plugins import FastTextQuality, HFSequenceScorer
from classifiers.stage import EduStage

from .conftest import HIGH, LOW, TOPICS, tiny_bert

GOOD = [HIGH.format(t=t) + f" ({k})" for k in range(5) for t in TOPICS[:5]]  # 25
BAD = [LOW.format(t=t) + f" ({k})" for k in range(5) for t in TOPICS[:5]]  # 25


@pytest.fixture(scope="module")
def fasttext_bin(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ft")
    train = d / "train.txt"
    lines = [f"__label__hq {t}" for t in GOOD] + [f"__label__cc {t}" for t in BAD]
    train.write_text("\n".join(lines) + "\n")
    params = dict(input=str(train), epoch=25, lr=0.5, wordNgrams=2, dim=16, thread=1, verbose=0)
    model = train_fasttext(params, seed=0, scratch=str(d / "fresh.bin"))
    path = d / "quality.bin"
    model.save_model(str(path))
    return path


def _batch(texts: list[str]) -> dict:
    return {
        "id": list(range(len(texts))),
        "text": texts,
        "drop_stage": [None] * len(texts),
        "drop_reason": [None] * len(texts),
    }


def test_fasttext_plugin_scores_the_positive_label(fasttext_bin: Path):
    scorer = load_edu_model(str(fasttext_bin), "hq")  # bare label or __label__hq
    assert isinstance(scorer, FastTextQuality) and scorer.label == "__label__hq"
    good = scorer.predict([HIGH.format(t="magnetism"), HIGH.format(t="algebra") + "\nmore"])
    bad = scorer.predict([LOW.format(t="magnetism")])
    assert good.min() >= 3.0 and bad.max() < 3.0  # 5 * P(hq): P >= 0.6 is kept
    assert bad.min() >= 0.0 and good.max() <= 5.0
    assert scorer.predict([]).shape == (0,)
    # the other label as positive turns the scale around
    flipped = load_edu_model(str(fasttext_bin), "__label__cc")
    np.testing.assert_allclose(flipped.predict(BAD[:3]) + scorer.predict(BAD[:3]), 5.0, atol=1e-3)


def test_fasttext_plugin_needs_a_known_label(fasttext_bin: Path):
    with pytest.raises(ValueError, match="positive_label"):
        load_edu_model(str(fasttext_bin))
    with pytest.raises(ValueError, match="not one of the model's labels"):
        load_edu_model(str(fasttext_bin), "__label__nope")


def test_stage_runs_a_fasttext_model(fasttext_bin: Path):
    cfg = ClassifyConfig(model=str(fasttext_bin), positive_label="__label__hq")
    stage = EduStage(cfg)
    out = stage.process(_batch([HIGH.format(t="optics"), LOW.format(t="optics")]))
    assert out["edu_int"][0] >= 3 and out["drop_reason"][0] is None
    assert out["drop_reason"][1] == "low-edu" and out["drop_stage"][1] == "classify"


def _tiny_bert(path: Path, num_labels: int, bias: list[float], id2label=None) -> Path:
    """A randomly initialised 2-layer BERT whose classifier outputs exactly ``bias``."""
    import torch

    words = {w.lower().strip(".,!()") for t in GOOD + BAD for w in t.split()} - {""}
    labels = {}
    if id2label:
        labels = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}
    model = tiny_bert(path, words, "BertForSequenceClassification", num_labels=num_labels, **labels)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(path)
    return path


def test_hf_regression_directory_is_fineweb_edu_style(tmp_path: Path):
    d = _tiny_bert(tmp_path / "reg", 1, [2.7])
    scorer = load_edu_model(str(d))
    assert isinstance(scorer, HFSequenceScorer)
    texts = [GOOD[0], BAD[0], "", "x " * 500]  # long text: truncated to the model's 64 positions
    np.testing.assert_allclose(scorer.predict(texts), 2.7, atol=1e-5)
    stage = EduStage(ClassifyConfig(model=str(d), min_edu_score=2.5))
    out = stage.process(_batch(texts))
    assert out["edu_int"] == [3, 3, 3, 3] and out["drop_reason"] == [None] * 4
    # int_score = round(clip(logit, 0, 5)): a logit of 9 scores 5, of -2 scores 0
    assert load_edu_model(str(_tiny_bert(tmp_path / "hi", 1, [9.0]))).predict(["a"])[0] == 5.0
    assert load_edu_model(str(_tiny_bert(tmp_path / "lo", 1, [-2.0]))).predict(["a"])[0] == 0.0


def test_hf_classification_directories(tmp_path: Path):
    # six classes 0-5: the expected level
    six = _tiny_bert(tmp_path / "six", 6, [0.0, 0.0, 0.0, 0.0, 0.0, np.log(5.0)])
    np.testing.assert_allclose(load_edu_model(str(six)).predict([GOOD[1]]), 3.5, atol=1e-4)
    # two classes: 5 * P(positive label), which must be named
    two = _tiny_bert(tmp_path / "two", 2, [0.0, np.log(3.0)], {0: "low", 1: "high"})
    with pytest.raises(ValueError, match="positive_label"):
        load_edu_model(str(two))
    np.testing.assert_allclose(load_edu_model(str(two), "high").predict(["a"]), 3.75, atol=1e-4)


def test_missing_model_path_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_edu_model(str(tmp_path / "nope.bin"))


def test_min_edu_score_is_on_the_0_5_scale():
    with pytest.raises(ValidationError, match="min_edu_score"):
        ClassifyConfig(min_edu_score=9)
    with pytest.raises(ValidationError, match="min_edu_score"):
        ClassifyConfig(min_edu_score=-1)
    assert ClassifyConfig(min_edu_score=5).min_edu_score == 5


def test_cascade_default_follows_the_hardware():
    assert CascadeConfig().enabled is None  # on for CPU workers (agreement bar met: config.py)
    assert not EduStage(ClassifyConfig(gpus=0, cascade=CascadeConfig(enabled=False))).cascade_on()
    auto = CascadeConfig()
    cpu = EduStage(ClassifyConfig(gpus=0, cascade=auto))
    assert cpu.resources.gpus == 0 and cpu.cascade_on()
    assert not EduStage(ClassifyConfig(gpus=1, cascade=auto)).cascade_on()
    assert EduStage(ClassifyConfig(gpus=1, cascade=CascadeConfig(enabled=True))).cascade_on()
