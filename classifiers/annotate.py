"""Annotate texts with an LLM judge: an additive 0-5 educational-value rubric.

The rubric is our own wording of the FineWeb-Edu idea: points accumulate while a
text earns them, so the judge reasons bottom-up instead of picking a vibe. The
judge's answer is parsed strictly: the last explicit "score: N" (or "N/5", or a
lone digit on the final line) wins; anything else is recorded with ``score=None``
and the raw answer, never guessed, so bad annotations can be audited or re-sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Answer(Protocol):
    """One judge answer: the text (None on failure), the model that wrote it, the error."""

    text: str | None
    model: str | None
    error: str | None


class Judge(Protocol):
    """What annotation needs from an LLM: answers to chat prompts, in order.

    The CLI fills it with synth's OpenAI-compatible HTTP client; classifiers never
    imports synth (layering: classifiers -> corpus only).
    """

    model: str

    def complete(self, prompts: Sequence[list[dict[str, str]]]) -> Sequence[Answer]: ...


MAX_CHARS = 2000  # the judge sees what the training labels saw (texts cut at 2,000 chars)

SYSTEM_PROMPT = "You are a careful teacher who rates how useful texts are for teaching."

RUBRIC = """\
Rate the extract below for its value as teaching material, on an additive scale from 0 to 5.
Start from 0 and add one point for each level the text reaches; stop at the first level it misses.

- Add 1 point if the text contains some information on a teachable subject (a science,
  mathematics, programming, history, law, health, a language, a practical skill), even if
  it is mostly ads, menus, listings or unrelated chatter.
- Add a 2nd point if it treats such a subject with some substance, although it may be
  disorganised, superficial, incomplete or mixed with promotion (a news story with
  background, a product page explaining how something works, a partial forum answer).
- Add a 3rd point if it is coherent and explains at least one idea, method or fact with
  its reasons, so that a learner would gain from it, even without depth or with some
  noise (a decent explainer, step-by-step instructions, an encyclopedia-style summary).
- Add a 4th point if it is plainly written to teach: organised, focused, with
  explanations and examples, worked steps or exercises, and little off-topic material,
  like a good tutorial or a textbook section.
- Add a 5th point if it is outstanding teaching material: clear, accurate, complete for
  its scope, progressing step by step, fit to be used as-is in a course.

Judge the content in whatever language it is written; ignore extraction glitches such as
broken spacing. The extract may be cut off; judge what is there.

Extract:
<<<
{text}
>>>

Briefly justify your rating in at most 80 words, then finish with a line of the form
"Educational score: N" where N is an integer from 0 to 5."""

# Most explicit first: "Educational score: 3", "score = 4/5", "**Score:** 2".
_SCORE_PATTERNS = [
    re.compile(r"educational\s+score\s*[:=\-]?\s*\**\s*([0-5])(?:\s*/\s*5)?\b", re.I),
    re.compile(r"\bscore\s*\**\s*(?:is|of)?\s*[:=\-]?\s*\**\s*([0-5])(?:\s*/\s*5)?\b", re.I),
    re.compile(r"\b([0-5])\s*/\s*5\b"),
    re.compile(r"\b([0-5])\s+(?:out of|of)\s+5\b", re.I),
]
_LONE_DIGIT = re.compile(r"^\W*([0-5])\W*$")


def build_messages(text: str, max_chars: int = MAX_CHARS) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": RUBRIC.format(text=text[:max_chars])},
    ]


def parse_score(answer: str | None) -> int | None:
    """The judge's 0-5 score, or None when the answer does not state one unambiguously."""
    if not answer:
        return None
    for pattern in _SCORE_PATTERNS:
        found = pattern.findall(answer)
        if found:
            return int(found[-1])  # the final verdict comes last in a justification
    lines = [ln for ln in answer.strip().splitlines() if ln.strip()]
    if lines and (m := _LONE_DIGIT.match(lines[-1])):
        return int(m.group(1))
    return None


def annotate_records(
    records: Iterable[dict[str, Any]], client: Judge, batch_size: int = 256
) -> Iterator[dict[str, Any]]:
    """Yield ``{id, text, score, raw, model}`` (plus ``error`` on failed requests) per record.

    Works in batches so output streams while the client keeps ``concurrency`` requests
    in flight; finished answers are in the client's journal, so a rerun is free.
    """
    batch: list[dict[str, Any]] = []

    def flush() -> Iterator[dict[str, Any]]:
        results = client.complete([build_messages(r["text"]) for r in batch])
        for rec, res in zip(batch, results, strict=True):
            out = {
                "id": rec["id"],
                "text": rec["text"],
                "score": parse_score(res.text),
                "raw": res.text,
                "model": res.model or client.model,
            }
            if res.error:
                out["error"] = res.error
            yield out

    for rec in records:
        batch.append(rec)
        if len(batch) >= batch_size:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def annotate_file(
    inputs: Sequence[str], output: str, judge: Judge, limit: int | None = None
) -> dict[str, int]:
    """Annotate the first ``limit`` records of ``inputs`` into ``output`` (JSONL).

    Returns how many answers were ``scored``, ``unparsed`` (no score stated) or ``failed``.
    """
    from corpus.readers import iter_records
    from corpus.writer import JsonlWriter

    records = ({"id": r.id, "text": r.text} for r in iter_records(inputs, limit=limit))
    counts = {"scored": 0, "unparsed": 0, "failed": 0}
    with JsonlWriter(output) as writer:
        for rec in annotate_records(records, judge):
            writer.write(rec)
            if rec.get("error"):
                counts["failed"] += 1
            else:
                counts["scored" if rec["score"] is not None else "unparsed"] += 1
    return counts
