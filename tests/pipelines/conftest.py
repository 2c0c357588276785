"""Fixtures for pipeline tests: one local Ray for the whole session (startup ~5 s)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ray_local():
    from pipelines import ray_backend

    ray_backend.init(num_cpus=2, progress=False)
    yield
    ray_backend.shutdown()


_SUBJECTS = [
    "The teacher",
    "A student",
    "The book",
    "Our class",
    "The scientist",
    "My friend",
    "The author",
    "Each group",
    "The lecture",
    "A careful reader",
    "The example",
    "This chapter",
]
_VERBS = [
    "explains",
    "describes",
    "compares",
    "measures",
    "questions",
    "summarises",
    "draws",
    "tests",
    "predicts",
    "reviews",
    "connects",
    "illustrates",
]
_OBJECTS = [
    "the main idea",
    "a simple model",
    "the first result",
    "an old problem",
    "the key steps",
    "a surprising fact",
    "the whole process",
    "a clear diagram",
    "the hardest case",
    "a new method",
    "the final answer",
    "a common mistake",
]
_ENDS = [
    "with great care",
    "in plain words",
    "before the test",
    "after a short break",
    "using real data",
    "for the whole class",
    "step by step",
    "with two examples",
    "in the next section",
    "without any tools",
    "at the very end",
    "from the beginning",
]


def _doc(i: int, topic: str) -> str:
    """A distinct English paragraph that passes the quality rules. Sentences are drawn
    with a seed, so two documents share almost no 5-word shingles (no near-duplicates)."""
    import random

    rng = random.Random(i)
    sentences = [f"This lesson is about {topic}."]
    for _ in range(12):
        sentences.append(
            f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_ENDS)}."
        )
    return " ".join(sentences)


TOPICS = [
    "fractions",
    "photosynthesis",
    "gravity",
    "the water cycle",
    "prime numbers",
    "plate tectonics",
    "electric circuits",
    "the French revolution",
    "cell division",
    "probability",
    "sound waves",
    "chemical bonds",
]


@pytest.fixture
def web_shards(tmp_path: Path) -> dict:
    """Two JSONL shards (plain and gzip) with an exact duplicate across them,
    junk that the filters drop, and bad lines that become rejects."""
    a, b = tmp_path / "in" / "a.jsonl", tmp_path / "in" / "b.jsonl.gz"
    a.parent.mkdir()
    rows_a = [
        {"id": f"a{i}", "text": _doc(i, t), "url": f"https://site{i}.example.org/p"}
        for i, t in enumerate(TOPICS[:6])
    ]
    rows_a.append({"id": "a-short", "text": "Click here."})
    rows_a.append(
        {
            "id": "a-de",
            "text": "Dies ist ein deutscher Text über die Geschichte der Stadt und ihre Menschen. "
            * 5,
        }
    )
    lines_a = [json.dumps(r) for r in rows_a] + [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"id": "x"}),
    ]
    a.write_text("\n".join(lines_a) + "\n")
    rows_b = [{"id": f"b{i}", "text": _doc(i + 100, t)} for i, t in enumerate(TOPICS[6:])]
    # Same text as a0 up to whitespace: an exact duplicate in another shard.
    rows_b.append({"id": "b-dup", "text": "  " + _doc(0, TOPICS[0]).replace(". ", ".   ") + " "})
    # a2 with one more sentence: a near duplicate (Jaccard ~0.95) in another shard.
    rows_b.append({"id": "b-near", "text": _doc(2, TOPICS[2]) + " Good luck with the homework!"})
    with gzip.open(b, "wt") as f:
        f.write("\n".join(json.dumps(r) for r in rows_b) + "\n")
    return {"paths": [a, b], "n_docs": len(rows_a) + len(rows_b), "n_rejects": 3}
