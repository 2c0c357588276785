"""The code edu model: features, fit/save/load, grouped folds, the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.code.features import FEATURE_NAMES, code_features, parse_prefix
from classifiers.code.model import SHIPPED_CODE_MODEL, CodeEduModel, CodeSpec
from classifiers.code.train import _select, compare, fold_blocks, robustness

TEACH = '''"""Insertion sort, explained."""


def insertion_sort(items: list[int]) -> list[int]:
    """Sort items in place and return them.

    >>> insertion_sort([3, 1, 2])
    [1, 2, 3]
    """
    for i in range(1, len(items)):
        key = items[i]  # the card we insert
        j = i - 1
        while j >= 0 and items[j] > key:
            items[j + 1] = items[j]
            j -= 1
        items[j + 1] = key
    return items


if __name__ == "__main__":
    print(insertion_sort([5, 2, 4, 6, 1, 3]))
'''
PLUMB = """from django.db import models
from .signals import hook


class Order(models.Model):
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE)
    total = models.DecimalField(max_digits=9, decimal_places=2)

    class Meta:
        app_label = "shop"
"""


def f(text):
    return dict(zip(FEATURE_NAMES, code_features(text), strict=True))


def test_features_see_teaching_signals():
    t, p = f(TEACH), f(PLUMB)
    assert t["parsed"] == 1.0 and t["has_main_guard"] == 1.0 and t["doctest_lines"] == 1.0
    assert t["func_docstring_frac"] == 1.0 and t["arg_annotation_frac"] == 1.0
    assert t["loops_per_100_lines"] > 0 and p["loops_per_100_lines"] == 0
    assert p["relative_imports"] == 1.0 and p["framework_marks_per_100_lines"] > 0
    assert len(code_features("")) == len(FEATURE_NAMES)


def test_parse_prefix_recovers_a_cut_file():
    cut = TEACH[: TEACH.index("items[j + 1] = items[j]") + 21]
    tree, n = parse_prefix(cut)
    assert tree is not None and 0 < n < len(cut.splitlines())
    assert f(cut)["parsed"] == 1.0


def _data():
    texts, y, groups = [], [], []
    for k in range(6):
        texts += [TEACH.replace("insertion_sort", f"sort_{k}"), PLUMB.replace("Order", f"O{k}")]
        y += [4.0, 1.0]
        groups += [f"edu/{k % 3}", f"app/{k % 3}"]
    return texts, np.array(y), groups


def test_fit_save_load_roundtrip(tmp_path):
    texts, y, _ = _data()
    spec = CodeSpec(encoder=None, head={"kind": "ridge", "tune_cv": 0})
    model = CodeEduModel(spec).fit(texts, y)
    pred = model.predict([TEACH, PLUMB])
    assert pred[0] > 3 > pred[1]
    loaded = CodeEduModel.load(model.save(tmp_path / "m"))
    assert np.allclose(loaded.predict([TEACH, PLUMB]), pred)
    (tmp_path / "m" / "spec.json").write_text('{"format_version": 1, "kind": "web"}')
    with pytest.raises(ValueError, match="not a code model"):
        CodeEduModel.load(tmp_path / "m")


def test_folds_never_share_a_repository():
    texts, y, groups = _data()
    for tr, te, blocks in fold_blocks(texts, y, groups, None, folds=3):
        assert not {groups[i] for i in tr} & {groups[i] for i in te}
        assert set(blocks) == {"code", "ngram"}
    res = compare(
        [{"text": t, "score": s, "repo": g} for t, s, g in zip(texts, y, groups, strict=True)],
        None,
        {"ridge": {"kind": "ridge", "tune_cv": 0}},
        folds=3,
        features=("code",),
    )
    assert res["code / ridge"]["metrics"]["f1"] == 1.0


def test_char_stack_roundtrip_and_keep_head(tmp_path):
    texts, y, _ = _data()
    spec = CodeSpec(encoder=None, stack_char=True, head={"kind": "forest_keep", "n_estimators": 20})
    model = CodeEduModel(spec).fit(texts, y)
    assert model.features([TEACH]).shape[1] == len(FEATURE_NAMES) + 2  # word + char scores
    pred = model.predict([TEACH, PLUMB])
    assert pred[0] > pred[1]
    loaded = CodeEduModel.load(model.save(tmp_path / "m"))
    assert np.allclose(loaded.predict([TEACH, PLUMB]), pred)
    old = CodeEduModel.load(SHIPPED_CODE_MODEL) if SHIPPED_CODE_MODEL.is_dir() else None
    assert old is None or (old.spec.stack_char == (old.stacked_char is not None))


def test_shuffled_groupings_keep_repositories_apart_and_select_by_mean():
    texts, y, groups = _data()
    for tr, te, blocks in fold_blocks(texts, y, groups, None, folds=3, char=True, seed=1):
        assert not {groups[i] for i in tr} & {groups[i] for i in te}
        assert set(blocks) == {"code", "ngram", "char"}
    rows = [{"text": t, "score": s, "repo": g} for t, s, g in zip(texts, y, groups, strict=True)]
    heads = {"ridge": {"kind": "ridge", "tune_cv": 0}}
    feats = ("code", "code+char")
    rob = robustness(rows, None, heads, 3, "first", feats, seeds=(1, 2))
    assert rob["code+char / ridge"]["seeds"] == [1, 2] and len(rob["code / ridge"]["f1"]) == 2
    res = compare(rows, None, heads, folds=3, features=feats)
    assert res["code+char / ridge"]["spec"]["stack_char"] is True
    assert _select(res, rob) in res
    assert _select(res, {}) == max(
        res, key=lambda k: sum(res[k]["metrics"][m] for m in ("f1", "spearman"))
    )


@pytest.mark.skipif(not SHIPPED_CODE_MODEL.is_dir(), reason="no shipped code model")
def test_shipped_model_ranks_teaching_code_higher():
    from classifiers.code.model import load_code_model

    model = load_code_model()
    assert model.meta["n_train"] == 800 and "cv" in model.meta
    a, b = model.predict([TEACH, PLUMB])
    assert a > b


def test_stacked_encoder_is_one_column_and_roundtrips(tmp_path):
    """The Gemma encoder enters as one out-of-fold ridge score; embeddings given here,
    so no model is loaded."""
    texts, y, groups = _data()
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(texts), 16)) + np.asarray(y)[:, None]
    spec = CodeSpec(
        encoder="gemma-3-270m-q4_k_m/layer9",
        stack_encoder=True,
        head={"kind": "forest_keep", "n_estimators": 20},
    )
    model = CodeEduModel(spec).fit(texts, y, embeddings=emb)
    assert model.embedder().layer == 9
    assert model.features(texts[:2], emb[:2]).shape[1] == len(FEATURE_NAMES) + 2
    loaded = CodeEduModel.load(model.save(tmp_path / "m"))
    assert np.allclose(loaded.predict(texts[:3], emb[:3]), model.predict(texts[:3], emb[:3]))
    per_fold = fold_blocks(texts, y, groups, None, folds=3, gemma=emb)
    assert all(b["gemma"].shape == (len(texts), 1) for _, _, b in per_fold)
