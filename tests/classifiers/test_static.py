"""The static MiniLM student: shipped table, exact-enough embeddings, estimator contract, cascade."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.base import clone

from classifiers.cascade import DEFAULT_HIGH, DEFAULT_LOW, cascade_predict
from classifiers.config import CascadeConfig
from classifiers.distill import quantize_columns
from classifiers.heads import EduHead
from classifiers.static import (
    FAST_FEATURE_NAMES,
    STATIC_DIR,
    NgramRidge,
    StaticStudent,
    StaticVectors,
    StudentEnsemble,
    fast_features,
    ngram_counts,
)
from classifiers.train import cascade_scores, keep_agreement

from .conftest import synthetic_annotations


@pytest.fixture(scope="module")
def sv() -> StaticVectors:
    return StaticVectors()


def test_shipped_table_is_small_and_loads_offline(sv):
    size = sum(f.stat().st_size for f in STATIC_DIR.iterdir() if f.is_file())
    assert size < 5_000_000
    assert sv.vectors.dtype == np.float32 and sv.vectors.shape[1] == 128
    assert np.isfinite(sv.vectors).all()


def test_word_lexicon_matches_wordpiece_mean(sv):
    """Splitting into words and summing cached WordPiece vectors = model2vec's token mean."""
    texts = [
        "Photosynthesis converts light energy into chemical energy, don't forget!",
        "Unbelievably rare wordz like café and naïve résumé go through the tokenizer.",
        "",
    ]
    emb = sv.embed(sv.tokenize(texts))
    for text, e in zip(texts[:2], emb[:2], strict=True):
        ids = sv.tokenizer.encode(text, add_special_tokens=False).ids
        ref = sv.vectors[ids].mean(axis=0)
        ref /= np.linalg.norm(ref)
        assert float(e @ ref) > 0.999
    assert not emb[2].any()  # empty text: zero vector, no NaN


def test_tokens_do_not_depend_on_the_lexicon_s_history():
    """Stable ids and vectors of a batch are the same whatever came before: words already
    seen, words added now, or a lexicon reset (``max_words``) half-way."""
    texts = [f"Lesson {i}: zorblax{i} meets quibbleton{i % 3} and the cell." for i in range(40)]
    small = StaticVectors(max_words=StaticVectors()._n + 15)  # ~13 new words a batch
    for k in range(0, len(texts), 10):
        got = small.tokenize(texts[k : k + 10])
        fresh = StaticVectors()
        want = fresh.tokenize(texts[k : k + 10])
        assert np.array_equal(got.ids, want.ids) and np.array_equal(got.starts, want.starts)
        np.testing.assert_array_equal(small.embed(got), fresh.embed(want))
    assert small._n <= small.max_words and "zorblax0" not in small._slot  # it was reset


def test_fast_features_shape_and_sense(sv):
    texts = [
        "- item one\n- item two\n- item three",
        "This is a sentence. This is another one that ends well.\n\nAnd a third paragraph.",
        "def f(x):\n    return {x: [1, 2]}",
        "",
    ]
    tok = sv.tokenize(texts)
    grams = ngram_counts(tok)
    f = fast_features(texts, tok, sv, grams)
    assert f.shape == (4, len(FAST_FEATURE_NAMES)) and np.isfinite(f).all()
    col = {n: i for i, n in enumerate(FAST_FEATURE_NAMES)}
    assert f[0, col["frac_list_lines"]] == 1.0 and f[1, col["frac_list_lines"]] == 0.0
    assert f[1, col["frac_lines_sentence_end"]] == 1.0
    assert f[2, col["code_marks_per_line"]] > f[1, col["code_marks_per_line"]]
    assert f[0, col["log_lines"]] == pytest.approx(np.log1p(3))
    assert f[3, col["log_chars"]] == 0.0


def test_ngram_ridge_prunes_and_predicts(sv):
    texts = ["good clear lesson"] * 5 + ["spam spam click"] * 5 + ["unique words once"]
    y = np.array([4.0] * 5 + [0.0] * 5 + [2.0])
    grams = ngram_counts(sv.tokenize(texts))
    m = NgramRidge(alpha=0.1).fit(grams, y)
    assert m.coef_.dtype == np.float32 and len(m.columns_) < grams.shape[1]
    p = m.predict(grams)
    assert p[0] > p[5]


def test_student_learns_pickles_and_clones():
    rows = synthetic_annotations(10)
    texts, y = [r["text"] for r in rows], np.array([r["score"] for r in rows], float)
    est = StaticStudent()
    assert not hasattr(est, "head_")  # no work in __init__
    est.fit(texts, y)
    p = est.predict(texts)
    assert p.shape == (len(texts),) and ((p >= 0) & (p <= 5)).all()
    assert np.corrcoef(p, y)[0, 1] > 0.8
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict(texts), p)
    assert clone(est).get_params() == est.get_params()
    assert est.predict([]).shape == (0,)


def test_student_ensemble_is_the_mean_of_its_members():
    rows = synthetic_annotations(10)
    texts, y = [r["text"] for r in rows], np.array([r["score"] for r in rows], float)
    members = [StaticStudent().fit(texts, y), StaticStudent(head={"kind": "ridge"}).fit(texts, y)]
    ens = pickle.loads(pickle.dumps(StudentEnsemble(members)))
    want = np.mean([m.predict(texts) for m in members], axis=0)
    np.testing.assert_allclose(ens.predict(texts), want)
    assert ens.predict([]).shape == (0,) and ens.vectors is None


def test_linear_head_averages_ridge_and_logistic():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = np.clip(np.rint(2.5 + 1.5 * X[:, 0]), 0, 5)
    head = EduHead("linear").fit(X, y)
    assert [k for k, _ in head.estimator_] == ["ridge", "logistic"]


def test_quantize_columns_roundtrip():
    v = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    q, scale = quantize_columns(v)
    assert q.dtype == np.int8
    assert np.abs(q * scale - v).max() <= scale.max() / 2 + 1e-6


def test_cascade_routes_only_the_band_to_the_teacher():
    student = SimpleNamespace(predict=lambda texts: np.array([0.5, 2.995, 3.0, 4.5]))
    seen: list[list[str]] = []

    class Model:
        def __init__(self):
            self.student = student

        def predict(self, texts):
            seen.append(list(texts))
            return np.full(len(texts), 3.3)

    res = cascade_predict(Model(), ["a", "b", "c", "d"], low=2.99, high=3.02)
    assert seen == [["b", "c"]]
    np.testing.assert_allclose(res.scores, [0.5, 3.3, 3.3, 4.5])
    assert res.to_teacher.tolist() == [False, True, True, False]
    s, unsure = cascade_scores(np.array([0.5, 2.995, 3.0, 4.5]), np.full(4, 3.3), 2.99, 3.02)
    np.testing.assert_allclose(s, res.scores)
    assert unsure.tolist() == res.to_teacher.tolist()


def test_cascade_defaults_agree_and_keep_agreement():
    c = CascadeConfig()
    assert (c.low, c.high) == (DEFAULT_LOW, DEFAULT_HIGH)
    a = keep_agreement(np.array([3.5, 1.0, 4.0]), np.array([3.1, 3.2, 0.0]))
    assert a["keep_agreement"] == pytest.approx(1 / 3) and a["keep_f1_vs_teacher"] == 0.5


def test_spec_quantize_roundtrips_and_old_specs_load(tmp_path):
    from classifiers.model import EduModel, EduSpec

    EduModel(EduSpec(pooling="first", quantize=True)).save(tmp_path)
    again = EduModel.load(tmp_path)
    assert again.spec.quantize and again.spec.pooling == "first"
    assert EduModel.load(SHIPPED_DIR).spec.quantize is False  # spec.json without the field


SHIPPED_DIR = STATIC_DIR.parent / "edu-minilm"


def test_cascade_stage_loads_the_teacher_only_for_the_band():
    """With the cascade on, the encoder (torch + MiniLM, seconds per worker) loads only
    when a document falls in the student's band, then with the stage's own options."""
    from classifiers.config import ClassifyConfig
    from classifiers.stage import EduStage

    texts = ["Photosynthesis turns light into chemical energy in the chloroplast.", "buy now"]
    cfg = ClassifyConfig(cascade=CascadeConfig(enabled=True, low=-1.0, high=-1.0))
    cfg.encode_batch_size = 7
    stage = EduStage(cfg)
    stage.setup()
    assert stage.score(texts).shape == (2,)
    assert stage.model._embedder is None  # the student decided both
    stage.cfg.cascade.low, stage.cfg.cascade.high = -1.0, 6.0  # now every text is unsure
    teacher_scores = stage.score(texts)
    assert stage.model._embedder is not None and stage.model._embedder.batch_size == 7
    plain = EduStage(ClassifyConfig(cascade=CascadeConfig(enabled=False)))  # teacher only
    plain.setup()
    np.testing.assert_allclose(teacher_scores, plain.score(texts), rtol=1e-6)
