"""Topic sources: files, a textbook TOC, and corpus clusters with coverage."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from synth.topics import (
    Topic,
    cluster_topics,
    load_topic_file,
    topics_from_clusters,
    topics_from_toc,
)


def test_yaml_and_jsonl_topic_files(tmp_path):
    y = tmp_path / "t.yaml"
    y.write_text(
        "topics:\n  - fractions\n  - topic: gravity\n    subtopics: [orbits, tides]\n    audience: college\n"
    )
    topics = load_topic_file(y)
    assert topics == [
        Topic("fractions"),
        Topic("gravity", subtopics=("orbits", "tides"), audience="college"),
    ]
    j = tmp_path / "t.jsonl"
    j.write_text(json.dumps({"topic": "cells", "seed_text": "Cells are..."}) + "\n\n")
    assert load_topic_file(j)[0].seed_text == "Cells are..."
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"name": "x"}) + "\n")
    with pytest.raises(ValueError, match="topic"):
        load_topic_file(bad)


def test_toc_skips_front_matter_and_generic_titles(tmp_path):
    rows = [
        {"id": "m0", "chapter": None, "title": "Preface", "text": "..."},
        {"id": "m1", "chapter": "Loops", "title": "Introduction", "text": "..."},
        {"id": "m2", "chapter": "Loops", "title": "While loops", "text": "A while loop repeats."},
        {"id": "m3", "chapter": "Loops", "title": "Chapter summary", "text": "..."},
    ]
    p = tmp_path / "book.jsonl.gz"
    with gzip.open(p, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    topics = load_topic_file(p)  # detected as a textbook: records have title, no topic
    assert [t.topic for t in topics] == ["While loops"]
    assert topics[0].context == "Loops (book)" and topics[0].seed_text == "A while loop repeats."
    assert topics[0].source == "toc"


def test_openstax_toc(shared_data):
    topics = topics_from_toc(shared_data / "textbooks" / "openstax-intro-python.jsonl.gz")
    assert 50 <= len(topics) <= 115
    assert all(t.context and t.seed_text for t in topics)
    assert not any(t.topic.lower() in ("introduction", "preface") for t in topics)


def tfidf_embedder():
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer()
    fitted = {}

    def embed(texts):
        if "v" not in fitted:
            fitted["v"] = vec.fit(texts)
        return vec.transform(texts).toarray()

    return embed


def test_clusters_find_themes_exemplars_and_undercovered():
    rng = np.random.default_rng(0)
    themes = {
        "python": "python function loop variable list dictionary code interpreter",
        "cells": "cell membrane nucleus protein mitochondria organism biology",
        "rome": "rome empire senate caesar legion republic history",
    }
    docs, label = [], []
    for name, words in themes.items():
        w = words.split()
        for _ in range(12):
            docs.append(" ".join(rng.choice(w, size=30)))
            label.append(name)
    covered = [" ".join(rng.choice(themes["python"].split(), size=30)) for _ in range(20)]
    covered += [" ".join(rng.choice(themes["cells"].split(), size=30)) for _ in range(5)]
    clusters = cluster_topics(docs, tfidf_embedder(), n_clusters=3, covered=covered, seed=0)
    assert sorted(c.size for c in clusters) == [12, 12, 12]
    # Least covered first: Roman history has no web coverage at all.
    assert "rome" in clusters[0].keywords[:3] or "caesar" in clusters[0].keywords
    assert clusters[0].coverage == 0 and clusters[-1].coverage == 20
    assert clusters[0].exemplar in docs[24:]
    assert abs(sum(c.coverage_share for c in clusters) - 1) < 1e-9
    topics = topics_from_clusters(clusters, max_share=0.25)
    assert len(topics) == 2 and all(t.source == "corpus" and t.seed_text for t in topics)
