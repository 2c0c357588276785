"""Prompt programs: pure functions from (topic, audience, format, strategy, seed) to messages.

Our own wording of the published recipes:

- ``textbook`` (Phi-1 / Phi-1.5 "textbook section"), ``tutorial`` with worked examples
  and ``exercises`` with solutions (Cosmopedia's formats), each seeded by an optional
  web or textbook passage, Cosmopedia-style, so the topic stays anchored in real text;
- ``code_exercise`` (Phi-1's CodeExercises: a Python signature and docstring, then the
  solution);
- ``reasoning`` (Orca 2): the model is sent a detailed *strategy* system prompt
  (step-by-step, recall-then-generate, ...), but the stored record carries only a
  generic system prompt, so a student trained on it learns to pick the strategy itself
  (prompt erasure).

Diversity comes from rotating audience x format over the plan and from seeded random
constraints (an example domain, a length, a stylistic requirement): the same seed gives
the same plan, a different seed a different one.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product

from synth.topics import Topic

Messages = list[dict[str, str]]

AUDIENCES: dict[str, str] = {
    "young_children": "young children (about 8 to 10 years old): short sentences, everyday "
    "words, concrete comparisons from their world, no jargon",
    "high_school": "high-school students: define every technical term when it first "
    "appears and connect ideas to things they already know",
    "college": "college students: precise terminology, clear derivations or reasoning, and "
    "links to neighbouring concepts",
    "professionals": "working professionals: concise, practical, focused on how the idea is "
    "applied and on common pitfalls",
}


def canonical_audience(name: str) -> str:
    """``"High school"``, ``"high-school"``, ``"High_School"`` -> ``"high_school"``
    (also ``"professional"``); an unknown audience is a ValueError naming the choices."""
    key = re.sub(r"[\s_-]+", "_", str(name).strip().lower())
    for candidate in (key, key + "s"):
        if candidate in AUDIENCES:
            return candidate
    choices = ", ".join(a.replace("_", " ") for a in AUDIENCES)
    raise ValueError(f"unknown audience {name!r}; choose from {choices}")


FORMATS = ("textbook", "tutorial", "exercises", "code_exercise", "reasoning")

# Orca 2's strategies, in our words. Only their names are stored with a record.
STRATEGIES: dict[str, str] = {
    "step_by_step": "Work through the problem one step at a time. State each intermediate "
    "result before using it, and check the final answer against the question.",
    "recall_then_generate": "First recall the facts, definitions or rules that bear on the "
    "question and list them briefly. Then write the answer using only what you recalled.",
    "recall_reason_generate": "First recall the relevant facts. Then reason explicitly about "
    "how they combine, weighing alternatives. Finally state the answer clearly.",
    "extract_generate": "First pick out the key quantities, names and conditions given in the "
    "question. Then build the answer from those extracted pieces.",
    "direct_answer": "Answer directly and concisely, without showing intermediate steps.",
}

# What the stored reasoning record keeps instead of the strategy prompt.
GENERIC_SYSTEM = "You are a helpful assistant. Answer the user's question carefully."

_EXAMPLE_DOMAINS = (
    "cooking",
    "sports",
    "weather",
    "music",
    "gardening",
    "travel",
    "money and shopping",
    "animals",
    "space",
    "games",
    "health",
    "building and construction",
    "art",
    "history",
)
_STYLE = (
    "Open with a question that makes the reader curious.",
    "Include one short analogy.",
    "End with a three-sentence summary.",
    "Use at least one small table or list where it helps.",
    "Point out one common misconception and correct it.",
    "Keep paragraphs short (at most four sentences).",
)
_QUESTION_TEMPLATES = (
    "Explain how {topic} works and give one concrete example.",
    "What is a common mistake people make with {topic}, and how can it be avoided?",
    "Compare two different ways of approaching {topic}. When is each one better?",
    "Pose a short word problem about {topic}, then solve it.",
    "Why does {topic} matter? Give two reasons with an example for each.",
)


@dataclass(frozen=True)
class Prompt:
    """One generation request, and what is stored about it."""

    prompt_id: str
    topic: str
    audience: str
    format: str
    strategy: str | None
    seed: int
    messages: Messages  # what is sent to the model
    stored_system: str | None = None  # reasoning records: the generic system prompt kept
    user: str = ""  # the user turn (stored with reasoning records)
    constraints: tuple[str, ...] = field(default_factory=tuple)


def prompt_id(topic: str, audience: str, fmt: str, strategy: str | None, seed: int) -> str:
    key = f"{topic}\x1f{audience}\x1f{fmt}\x1f{strategy}\x1f{seed}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def _seed_block(seed_text: str | None, max_chars: int = 1200) -> str:
    if not seed_text:
        return ""
    return (
        "\n\nHere is a reference passage on a related subject. Use it only as "
        "inspiration for the subject matter; do not copy it or refer to it:\n<<<\n"
        + seed_text[:max_chars].strip()
        + "\n>>>"
    )


def build_prompt(
    topic: Topic, audience: str, fmt: str, seed: int, strategy: str | None = None
) -> Prompt:
    """The messages of one prompt program. Pure: same arguments, same prompt."""
    audience = canonical_audience(audience)
    rng = random.Random(f"{topic.topic}|{audience}|{fmt}|{seed}")
    subject = topic.topic
    if topic.subtopics:
        subject = f"{topic.topic}, focusing on {rng.choice(topic.subtopics)}"
    who = AUDIENCES[audience]
    domain = rng.choice(_EXAMPLE_DOMAINS)
    style = rng.choice(_STYLE)
    words = rng.choice((300, 450, 600))
    constraints = (f"examples from {domain}", style, f"about {words} words")
    ctx = f" It belongs to a book or course on {topic.context}." if topic.context else ""
    seed_block = _seed_block(topic.seed_text)
    system = "You are an expert teacher and textbook author."
    if fmt == "textbook":
        user = (
            f"Write a section of a textbook about {subject}.{ctx} The readers are {who}. "
            f"Explain the ideas in depth, from the basics up, with clear reasoning and "
            f"examples drawn from {domain}. {style} Aim for about {words} words. Write the "
            f"section itself: no title page, no introduction of yourself.{seed_block}"
        )
    elif fmt == "tutorial":
        user = (
            f"Write a tutorial on {subject} for {who}.{ctx} Teach through worked examples: "
            f"for each example, state the task, then solve it step by step, explaining why "
            f"each step is taken. Use situations from {domain}. {style} About {words} words."
            f"{seed_block}"
        )
    elif fmt == "exercises":
        user = (
            f"Write three exercises with full solutions about {subject} for {who}.{ctx} "
            f"Order them from easy to harder. After each exercise, give a worked solution "
            f"that explains the reasoning, not only the result. Set them in {domain}. "
            f"About {words} words in total.{seed_block}"
        )
    elif fmt == "code_exercise":
        system = "You are an expert Python programmer and teacher."
        user = (
            f"Write one Python programming exercise about {subject}, pitched at {who}. "
            f"Give a function signature with type hints and a docstring that states the "
            f"task precisely, with two doctest examples drawn from {domain}. Then give a "
            f"correct, readable solution that implements the function, with short comments "
            f"explaining the key steps. Output only Python code."
        )
    elif fmt == "reasoning":
        strategy = strategy or rng.choice(sorted(STRATEGIES))
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}")
        question = rng.choice(_QUESTION_TEMPLATES).format(topic=subject)
        user = f"{question} The answer is for {who}."
        sys_prompt = f"You are a careful, knowledgeable tutor. {STRATEGIES[strategy]}"
        return Prompt(
            prompt_id=prompt_id(topic.topic, audience, fmt, strategy, seed),
            topic=topic.topic,
            audience=audience,
            format=fmt,
            strategy=strategy,
            seed=seed,
            messages=[{"role": "system", "content": sys_prompt}, {"role": "user", "content": user}],
            stored_system=GENERIC_SYSTEM,
            user=user,
            constraints=(f"question: {question}",),
        )
    else:
        raise ValueError(f"unknown format {fmt!r}; choose from {FORMATS}")
    return Prompt(
        prompt_id=prompt_id(topic.topic, audience, fmt, None, seed),
        topic=topic.topic,
        audience=audience,
        format=fmt,
        strategy=None,
        seed=seed,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        user=user,
        constraints=constraints,
    )


def plan_prompts(
    topics: Sequence[Topic],
    n: int,
    seed: int = 0,
    formats: Sequence[str] = FORMATS,
    audiences: Sequence[str] = tuple(AUDIENCES),
) -> list[Prompt]:
    """``n`` prompts covering topics x audiences x formats in a seeded, rotating order.

    Topics cycle fastest, so a small ``n`` still spreads over many topics; each cycle
    shifts the audience/format combination, so repeats of a topic differ in form. A
    topic's own ``audience`` (from the topic file) overrides the rotation.
    """
    if not topics:
        raise ValueError("no topics")
    audiences = [canonical_audience(a) for a in audiences]
    rng = random.Random(seed)
    combos = list(product(audiences, formats))
    rng.shuffle(combos)
    order = list(topics)
    rng.shuffle(order)
    prompts: list[Prompt] = []
    seen: set[str] = set()
    i = 0
    while len(prompts) < n:
        topic = order[i % len(order)]
        cycle = i // len(order)
        audience, fmt = combos[(i + cycle) % len(combos)]
        if topic.audience:
            audience = topic.audience
        p = build_prompt(topic, audience, fmt, seed=seed * 1_000_003 + i)
        i += 1
        if p.prompt_id not in seen:
            seen.add(p.prompt_id)
            prompts.append(p)
    return prompts


def stored_text(prompt: Prompt, generation: str) -> str:
    """The document text that enters the corpus.

    Reasoning records keep the question and answer with the generic system prompt (the
    strategy prompt is erased); other formats store the generation alone.
    """
    if prompt.format == "reasoning":
        return f"{prompt.stored_system}\n\nQuestion: {prompt.user}\n\nAnswer: {generation}"
    return generation
