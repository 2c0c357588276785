"""Prompt programs: pure, seeded, diverse; Orca-2 prompt erasure."""

from __future__ import annotations

import pytest

from synth.prompts import (
    AUDIENCES,
    FORMATS,
    GENERIC_SYSTEM,
    STRATEGIES,
    build_prompt,
    plan_prompts,
    stored_text,
)
from synth.topics import Topic

TOPICS = [
    Topic("photosynthesis"),
    Topic("binary search", subtopics=("invariants", "off-by-one errors")),
    Topic("the French Revolution"),
]


def test_same_arguments_same_prompt_and_id():
    a = build_prompt(TOPICS[0], "college", "textbook", seed=7)
    b = build_prompt(TOPICS[0], "college", "textbook", seed=7)
    c = build_prompt(TOPICS[0], "college", "textbook", seed=8)
    assert a == b
    assert a.prompt_id != c.prompt_id


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("audience", list(AUDIENCES))
def test_every_program_names_topic_and_audience(fmt, audience):
    p = build_prompt(TOPICS[1], audience, fmt, seed=1)
    user = p.messages[-1]["content"]
    assert "binary search" in user
    assert AUDIENCES[audience].split(":")[0] in user
    assert p.format == fmt and p.audience == audience


def test_seed_passage_is_included_and_bounded():
    t = Topic("loops", seed_text="A for loop repeats a block. " * 200)
    user = build_prompt(t, "high_school", "tutorial", seed=0).messages[-1]["content"]
    assert "A for loop repeats a block." in user and len(user) < 2500


def test_code_exercise_asks_for_signature_docstring_and_solution():
    user = build_prompt(TOPICS[1], "college", "code_exercise", seed=0).messages[-1]["content"]
    assert "signature" in user and "docstring" in user and "solution" in user


def test_reasoning_prompt_erasure():
    p = build_prompt(TOPICS[0], "high_school", "reasoning", seed=3, strategy="step_by_step")
    sent_system = p.messages[0]["content"]
    assert STRATEGIES["step_by_step"] in sent_system
    text = stored_text(p, "Plants use light ...")
    assert STRATEGIES["step_by_step"] not in text and sent_system not in text
    assert text.startswith(GENERIC_SYSTEM) and "Plants use light" in text and p.user in text


def test_unknown_values_are_errors():
    with pytest.raises(ValueError):
        build_prompt(TOPICS[0], "toddlers", "textbook", seed=0)
    with pytest.raises(ValueError):
        build_prompt(TOPICS[0], "college", "poem", seed=0)
    with pytest.raises(ValueError):
        build_prompt(TOPICS[0], "college", "reasoning", seed=0, strategy="guess")


def test_plan_is_reproducible_diverse_and_unique():
    plan = plan_prompts(TOPICS, 30, seed=5)
    again = plan_prompts(TOPICS, 30, seed=5)
    other = plan_prompts(TOPICS, 30, seed=6)
    assert [p.prompt_id for p in plan] == [p.prompt_id for p in again]
    assert [p.prompt_id for p in plan] != [p.prompt_id for p in other]
    assert len({p.prompt_id for p in plan}) == 30
    assert {p.topic for p in plan[:3]} == {t.topic for t in TOPICS}  # topics cycle fastest
    assert len({p.audience for p in plan}) == 4 and len({p.format for p in plan}) == 5
    strategies = {p.strategy for p in plan if p.format == "reasoning"}
    assert len(strategies) >= 2
    # The first n of a longer plan is the shorter plan: growing --n resumes cleanly.
    assert [p.prompt_id for p in plan_prompts(TOPICS, 10, seed=5)] == [
        p.prompt_id for p in plan[:10]
    ]


def test_topic_audience_overrides_rotation():
    plan = plan_prompts([Topic("fractions", audience="young_children")], 6, seed=0)
    assert {p.audience for p in plan} == {"young_children"}
