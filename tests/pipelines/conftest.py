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


def _doc(i: int, topic: str) -> str:
    # Distinct English paragraphs that pass the quality rules. Exact dedup ignores
    # digits, so the number is also spelled in letters to make each text unique.
    code = "".join(chr(ord("a") + int(c)) for c in str(i))
    return (
        f"This is the lesson with the code name {code}. "
        f"Lesson {i} explains {topic} for students who are new to the subject. "
        f"The teacher starts with a simple example and then shows how the idea of {topic} "
        "connects to what the class learned in the previous chapter. Each step is written out "
        "clearly, so that a reader can follow the reasoning and check every result by hand. "
        f"At the end of lesson {i}, there are three short exercises about {topic}, and the answers "
        "are given with a full explanation of why they are correct."
    )


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
    with gzip.open(b, "wt") as f:
        f.write("\n".join(json.dumps(r) for r in rows_b) + "\n")
    return {"paths": [a, b], "n_docs": len(rows_a) + len(rows_b), "n_rejects": 3}
