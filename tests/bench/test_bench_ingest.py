"""``bench ingest --docs``: the one big seeded input."""

from __future__ import annotations

import json

import pytest
import zstandard

from bench import ingest


@pytest.mark.shared
def test_big_input_is_seeded_distinct_and_streamed(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "SHARED", shared_data / "web")
    path = ingest.build_big_input(300, 1, tmp_path)
    with zstandard.open(path, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    assert [d["id"] for d in docs] == [f"big-{i}" for i in range(300)]
    texts = [d["text"] for d in docs]
    assert len(set(texts)) == 300
    again = [d["text"] for d in ingest.big_docs(300, 1)]
    other = [d["text"] for d in ingest.big_docs(300, 2)]
    assert texts == again and texts != other
