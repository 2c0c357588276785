"""Gates for generated text: cleanup, length, decontamination, near-dups, edu score, tokens."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.decontam import BenchmarkIndex
from synth.config import GateConfig
from synth.gates import Gates, NearDupIndex, clean_generation

BODY = (
    "Photosynthesis is how plants turn light into chemical energy. Chlorophyll in the leaves "
    "absorbs red and blue light, and the energy splits water into oxygen and hydrogen. The "
    "hydrogen then helps turn carbon dioxide from the air into glucose, which the plant uses "
    "to grow. This is why plants need sunlight, water and air."
)


@pytest.mark.parametrize(
    "raw",
    [
        "Sure! Here is a textbook section about photosynthesis:\n\n" + BODY,
        "Certainly.\n\nHere's the section you asked for:\n" + BODY,
        BODY + "\n\nI hope this helps! Let me know if you want more.",
        BODY + " The Calvin cycle then uses ATP and NADPH to fix carb",
    ],
)
def test_cleanup_strips_preambles_outros_and_truncation(raw):
    assert clean_generation(raw) == BODY


def test_cleanup_keeps_code_and_unwraps_a_fence():
    code = "def add(a: int, b: int) -> int:\n    return a + b"
    assert (
        clean_generation("Sure, here is the code:\n```python\n" + code + "\n```", "code_exercise")
        == code
    )
    # An unterminated fence in prose is cut off rather than left open.
    assert clean_generation(BODY + "\n\n```python\ndef f(", "textbook") == BODY


def test_cleanup_does_not_eat_a_text_without_sentence_ends():
    assert clean_generation("a list of words with no stop") == "a list of words with no stop"


def test_near_dup_index_verifies_by_jaccard():
    idx = NearDupIndex(threshold=0.8)
    other = "Volcanoes form where magma rises through the crust. " * 6
    near = BODY.replace("This is why", "That is why")
    verdict = idx.check_and_add(
        ["a", "b", "c", "d"], [BODY, other, near, BODY + " Plants are green."]
    )
    assert verdict == [None, None, "a", "a"]
    assert len(idx) == 2


def const_scorer(value):
    return lambda texts: np.full(len(texts), value)


def test_gates_in_order_with_reasons():
    index = BenchmarkIndex()
    bench = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."
    index.add_text("gsm8k", "7", bench)
    index.build()
    gates = Gates(GateConfig(min_words=20, max_words=200), scorer=const_scorer(2.5), index=index)
    texts = [
        "Sure! Here it is:\n\n" + BODY,
        "Too short.",
        "word " * 300 + ".",
        BODY + " " + bench + " How many clips did she sell?",
        BODY.replace("This is why", "That is why"),
        "",
    ]
    d = gates.apply([f"p{i}" for i in range(6)], texts, ["textbook"] * 6)
    assert [x.drop_reason for x in d] == [
        None,
        "too-short",
        "too-long",
        "contaminated:gsm8k",
        "near-dup:p0",
        "empty",
    ]
    assert d[0].text == BODY and d[0].kept and d[0].edu_score == 2.5
    assert d[0].n_tokens and 40 < d[0].n_tokens < 100
    assert d[3].decontam and d[3].decontam[0].startswith("gsm8k/7/")
    assert d[1].edu_score is None  # dropped before scoring


def test_min_edu_drops_low_scores_and_near_dups_persist_across_chunks():
    gates = Gates(
        GateConfig(min_words=5, min_edu_score=3.0),
        scorer=lambda t: np.array([4.0 if "plants" in x else 1.0 for x in t]),
    )
    first = gates.apply(
        ["a", "b"],
        [BODY, "Stocks went up and down today in a busy market session."],
        ["textbook"] * 2,
    )
    assert [x.drop_reason for x in first] == [None, "low-edu"]
    second = gates.apply(["c"], [BODY], ["textbook"])
    assert second[0].drop_reason == "near-dup:a"


def test_missing_edu_model_is_a_clear_error(tmp_path):
    gates = Gates(GateConfig(min_words=5, edu_model=str(tmp_path / "nope")))
    with pytest.raises(FileNotFoundError, match="--no-edu"):
        gates.apply(["a"], [BODY], ["textbook"])


@pytest.mark.slow
def test_real_edu_model_scores_generations():
    from classifiers.model import SHIPPED_MODEL

    if not (SHIPPED_MODEL / "spec.json").exists():
        pytest.skip("the shipped edu model is not built yet")
    gates = Gates(GateConfig(min_words=5))
    junk = (
        "Buy cheap watches now! Free shipping on all orders, click here, limited offer today only."
    )
    d = gates.apply(["a", "b"], [BODY, junk], ["textbook", "textbook"])
    assert d[0].edu_score is not None and d[1].edu_score is not None
    assert d[0].edu_score > d[1].edu_score
