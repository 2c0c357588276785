"""Real MiniLM (offline, from its wheel) end to end on a tiny synthetic label set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from classifiers.config import ClassifyConfig
from classifiers.embed import Embedder, pool_chunks
from classifiers.model import EduModel, EduSpec, load_edu_model
from classifiers.stage import EduStage
from pipelines.cli import main

from .conftest import synthetic_annotations


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(max_tokens=32, max_chunks=3)  # small windows so short texts span several


def test_embedder_windows_and_pooling(embedder):
    long = "Gravity pulls masses together. " * 40
    windows, owner = embedder.chunk_ids([long, "short text", ""])
    assert owner.tolist().count(0) == 3  # capped by max_chunks
    assert all(len(w) <= 30 for w in windows)  # room left for [CLS]/[SEP]
    assert owner.tolist().count(2) == 1  # an empty text still gets one (empty) window
    emb = embedder.encode([long, "short text", ""])
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # the first window alone equals the sentence-transformers encoding of that window
    ref = embedder._st.encode(
        [embedder._st.tokenizer.decode(windows[0])], normalize_embeddings=True
    )
    chunks = embedder.encode_chunks(windows[:1])
    assert float(chunks[0] @ ref[0]) > 0.99
    assert embedder.encode([]).shape == (0, 384)


def test_pool_chunks_means_per_document():
    chunks = np.array([[1.0, 0], [0, 1.0], [0, 2.0]], dtype=np.float32)
    pooled = pool_chunks(chunks, np.array([0, 0, 1]), 2)
    np.testing.assert_allclose(pooled, [[2**-0.5, 2**-0.5], [0, 1]], atol=1e-6)


def test_fit_save_load_predict(tmp_path: Path):
    rows = synthetic_annotations()
    texts, y = [r["text"] for r in rows], np.array([r["score"] for r in rows], float)
    spec = EduSpec(stack_student=True)
    model = EduModel(spec).fit(texts, y)
    pred = model.predict(texts)
    assert pred.shape == (len(texts),) and pred.min() >= 0 and pred.max() <= 5
    assert pred[y >= 3].mean() > pred[y == 0].mean() + 1.5
    model.save(tmp_path / "m")
    again = load_edu_model(str(tmp_path / "m"))
    np.testing.assert_allclose(again.predict(texts), pred, atol=1e-5)


@pytest.mark.slow  # ~30 s idle, more on shared cores: trains, cross-validates, scores
def test_cli_train_evaluate_score_and_stage(tmp_path: Path, annotations_file: Path):
    runner = CliRunner()
    out = tmp_path / "model"
    corpus = tmp_path / "unlabelled.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"id": f"u{i}", "text": r["text"] * 2})
            for i, r in enumerate(synthetic_annotations(3, seed=1))
        )
        + "\n"
    )
    res = runner.invoke(
        main,
        [
            "train-classifier",
            "--annotations",
            str(annotations_file),
            "--output",
            str(out),
            "--cv",
            "2",
            "--student-corpus",
            str(corpus),
            "--no-student-quantize",
        ],
    )
    assert res.exit_code == 0, res.output
    card = (out / "README.md").read_text()
    assert "Spearman" in card and "random web" not in card  # all rows are one subset here
    assert "Cascade student (static MiniLM)" in card  # default student, cross-validated
    assert "cascade [" in json.dumps(json.loads((out / "meta.json").read_text())["cv_cascade"])
    meta = json.loads((out / "meta.json").read_text())
    assert meta["n_train"] == 48
    assert "Learning curve" in card and "Scorers compared (same folds)" in card
    assert [r["fraction"] for r in meta["learning_curve"]] == [0.25, 0.5, 0.75, 1.0]
    # the 100% point is the main cross-validation itself (same folds, same model)
    assert meta["learning_curve"][-1]["all"]["f1"] == pytest.approx(meta["cv"]["all"]["f1"])
    assert "precision" in meta["cv"]["all"] and "auc" in meta["cv"]["all"]

    res = runner.invoke(
        main,
        [
            "evaluate-classifier",
            "--model",
            str(out),
            "--annotations",
            str(annotations_file),
            "--json",
            "--no-card",
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)["all"]
    assert metrics["f1"] > 0.8 and metrics["spearman"] > 0.7  # in-sample on easy synthetic data

    scored = tmp_path / "scored.jsonl.zst"
    res = runner.invoke(
        main,
        [
            "score",
            str(corpus),
            str(annotations_file),
            "--output",
            str(scored),
            "--model",
            str(out),
            "--batch-size",
            "7",
        ],
    )
    assert res.exit_code == 0, res.output
    import zstandard

    lines = (
        zstandard.ZstdDecompressor().stream_reader(scored.open("rb")).read().decode().splitlines()
    )
    recs = [json.loads(x) for x in lines]
    assert len(recs) == 18 + 48  # nothing dropped
    assert all(
        0 <= r["edu_score"] <= 5 and r["edu_int"] == int(np.floor(r["edu_score"] + 0.5))
        for r in recs
    )
    assert sum({"selection", "source"} <= set(r) for r in recs) == 48  # input fields are kept

    res = runner.invoke(
        main,
        [
            "score",
            str(corpus),
            "--output",
            str(tmp_path / "c.jsonl"),
            "--model",
            str(out),
            "--cascade",
        ],
    )
    assert res.exit_code == 0, res.output

    stage = EduStage(ClassifyConfig(model=str(out), min_edu_score=3.0))
    assert stage.name == "classify" and stage.resources.batch_size == 256
    texts = [r["text"] for r in synthetic_annotations(1, seed=2)]
    batch = {
        "id": list(range(len(texts))),
        "text": texts,
        "drop_stage": [None] * (len(texts) - 1) + ["filters"],
        "drop_reason": [None] * (len(texts) - 1) + ["too-short"],
    }
    stage.setup()
    result = stage.process(batch)
    assert result["edu_score"][-1] is None and result["drop_reason"][-1] == "too-short"
    for s, k, stage_name, reason in zip(
        result["edu_score"][:-1],
        result["edu_int"][:-1],
        result["drop_stage"][:-1],
        result["drop_reason"][:-1],
        strict=True,
    ):
        assert isinstance(s, float) and isinstance(k, int)
        assert (reason == "low-edu") == (s < 3.0)
        assert (stage_name == "classify") == (s < 3.0)
    assert result["drop_reason"][0] is None  # the level-5 teaching text is kept
