"""``primer topics``: corpus clusters -> a topic file that ``primer synth`` reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from synth.topics import load_topic_file

THEMES = {
    "python": "python function loop variable list dictionary code interpreter",
    "cells": "cell membrane nucleus protein mitochondria organism biology",
    "rome": "rome empire senate caesar legion republic history",
}


def write_docs(path, per_theme, themes, seed, score=None):
    rng = np.random.default_rng(seed)
    with path.open("w") as f:
        for name in themes:
            for i in range(per_theme):
                rec = {
                    "id": f"{name}-{i}",
                    "text": " ".join(rng.choice(THEMES[name].split(), size=40)),
                }
                if score is not None:
                    rec["edu_score"] = score if i % 2 == 0 else 1.0
                f.write(json.dumps(rec) + "\n")


def run_topics(tmp_path, extra=()):
    high, web, out = tmp_path / "high.jsonl", tmp_path / "web.jsonl", tmp_path / "topics.jsonl"
    write_docs(high, 10, THEMES, 0, score=4.0)
    write_docs(web, 8, ["python", "cells"], 1)
    args = [
        "topics",
        "--input",
        str(high),
        "--covered",
        str(web),
        "--k",
        "3",
        "--min-edu",
        "3",
        "--output",
        str(out),
    ]
    res = CliRunner().invoke(main, [*args, *extra])
    assert res.exit_code == 0, res.output
    return res, [json.loads(line) for line in out.read_text().splitlines()], out


def test_topics_cli_with_a_stand_in_embedder(tmp_path, monkeypatch):
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(n_features=256, alternate_sign=False)
    monkeypatch.setattr(
        "synth.topics.sentence_embedder", lambda: lambda texts: vec.transform(texts).toarray()
    )
    res, rows, out = run_topics(tmp_path)
    assert [r["cluster_size"] for r in rows] == [5, 5, 5]  # --min-edu kept half
    named = set(rows[0]["topic"].split(" / ")) | set(rows[0]["subtopics"])
    assert rows[0]["coverage"] == 0 and named <= set(THEMES["rome"].split())
    assert "least covered first" in res.output
    topics = load_topic_file(out)
    assert len(topics) == 3 and all(t.seed_text for t in topics)


@pytest.mark.slow
def test_topics_cli_with_minilm(tmp_path):
    _, rows, _ = run_topics(tmp_path)
    assert len(rows) == 3 and rows[0]["coverage"] <= rows[-1]["coverage"]
