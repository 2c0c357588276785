"""Semantic dedup end to end: ``primer run --set dedup.semantic.enabled=true`` (in-process).

The input plants two paraphrases (a word changed in every sentence: 5-gram Jaccard 0.12
and 0.19, far below MinHash's 0.8, MiniLM cosine ~0.98) and a related but different text
(respiration vs photosynthesis, cosine ~0.6). Near dedup finds nothing; semantic dedup
drops exactly the paraphrases, with the vectors the classifier computed, or, under the
cascade student (which embeds nothing), with vectors it computes itself: same decisions.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main

PHOTO = (
    "Photosynthesis is the process by which green plants, algae and some bacteria turn light "
    "energy into chemical energy. Inside the chloroplasts, the pigment chlorophyll absorbs red "
    "and blue light and uses its energy to split water molecules into oxygen, protons and "
    "electrons. The oxygen is released into the air through small pores in the leaves called "
    "stomata. In the second stage, known as the Calvin cycle, the plant uses carbon dioxide from "
    "the air together with the energy carriers ATP and NADPH to build glucose. This sugar is "
    "then used to grow new cells, or it is stored as starch for later use. Because almost every "
    "food chain on Earth begins with plants, photosynthesis is the main source of energy for "
    "nearly all living things."
)
PHOTO_PARA = (
    "Photosynthesis is the process through which green plants, algae and certain bacteria "
    "convert light energy into chemical energy. Within the chloroplasts, the pigment chlorophyll "
    "captures red and blue light and uses this energy to break water molecules into oxygen, "
    "protons and electrons. The oxygen is released to the atmosphere through tiny pores in the "
    "leaves known as stomata. In the second phase, called the Calvin cycle, the plant takes "
    "carbon dioxide from the atmosphere together with the energy carriers ATP and NADPH to make "
    "glucose. This sugar is then used to build new cells, or it is kept as starch for later use. "
    "Since almost every food chain on Earth starts with plants, photosynthesis is the chief "
    "source of energy for almost all living things."
)
RESPIRATION = (
    "Cellular respiration is the process by which cells break down glucose to release the energy "
    "stored in its chemical bonds. It begins in the cytoplasm with glycolysis, which splits one "
    "glucose molecule into two molecules of pyruvate and yields a small amount of ATP. The "
    "pyruvate then enters the mitochondria, where the Krebs cycle strips away carbon atoms as "
    "carbon dioxide and loads electrons onto the carriers NADH and FADH2. Finally, the electron "
    "transport chain passes these electrons along a series of proteins in the inner membrane and "
    "uses their energy to pump protons. The flow of protons back through ATP synthase produces "
    "most of the cell's ATP, and oxygen accepts the electrons at the end of the chain."
)
TECTONICS = (
    "The outer shell of the Earth is broken into large rigid pieces called tectonic plates, which "
    "float on the hotter and softer rock of the mantle beneath them. These plates move only a few "
    "centimetres each year, about as fast as fingernails grow, but over millions of years that "
    "slow motion builds mountains and opens oceans. Where two plates pull apart, as along the "
    "Mid-Atlantic Ridge, molten rock rises and forms new ocean floor. Where they collide, one "
    "plate may sink beneath the other in a subduction zone, producing deep trenches, volcanoes "
    "and strong earthquakes. Where plates slide past each other, as along the San Andreas Fault "
    "in California, stress builds up in the rocks until it is suddenly released as an earthquake."
)
TECTONICS_PARA = (
    "The outer shell of our planet is broken into large stiff pieces known as tectonic plates, "
    "which rest on the hotter and softer rock of the mantle below them. These plates move only a "
    "few centimetres per year, roughly as fast as fingernails grow, but over millions of years "
    "this slow movement raises mountains and opens oceans. Where two plates move apart, as along "
    "the Mid-Atlantic Ridge, molten rock wells up and creates new ocean floor. Where they collide, "
    "one plate can sink under the other in a subduction zone, creating deep trenches, volcanoes "
    "and powerful earthquakes. Where plates slide past one another, as along the San Andreas "
    "Fault in California, strain builds up in the rocks until it is abruptly released as an "
    "earthquake."
)
SEARCH = (
    "Binary search finds the position of a target value within a sorted array by repeatedly "
    "halving the part of the array that could still contain it. The algorithm compares the "
    "target with the middle element. If they are equal, the search is over. If the target is "
    "smaller, the search continues in the lower half; if it is larger, in the upper half. Because "
    "each step discards half of the remaining elements, binary search needs at most about log2(n) "
    "comparisons for an array of n elements, so even a list of a million sorted numbers is "
    "searched in twenty steps. The price is that the array must be kept sorted, which makes "
    "insertions more expensive than in an unsorted list."
)
DOCS = [
    ("photo", PHOTO),
    ("respiration", RESPIRATION),
    ("tectonics", TECTONICS),
    ("photo-para", PHOTO_PARA),
    ("search", SEARCH),
    ("tectonics-para", TECTONICS_PARA),
]


def _run(tmp_path, name: str, *sets: str):
    src = tmp_path / "in.jsonl"
    if not src.exists():
        src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in DOCS))
    out = tmp_path / name
    args = ["run", "--input", str(src), "--output", str(out), "--set", "ray.mode=local"]
    for s in ["dedup.semantic.enabled=true", "classify.min_edu_score=0", *sets]:
        args += ["--set", s]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT id, kept, drop_stage, drop_reason, duplicate_of, dup_cluster, semantic_sim "
            "FROM documents ORDER BY position"
        ).fetchall()
        funnel = dict(con.execute("SELECT stage, dropped FROM funnel").fetchall())
    finally:
        con.close()
    return result.output, rows, funnel


def _check(rows, funnel) -> None:
    by_id = {r[0]: r[1:] for r in rows}
    assert [i for i, r in by_id.items() if not r[0]] == ["photo-para", "tectonics-para"]
    for dup, orig in (("photo-para", "photo"), ("tectonics-para", "tectonics")):
        kept, stage, reason, dup_of, cluster, sim = by_id[dup]
        assert (stage, reason, dup_of) == ("semantic-dedup", "semantic-duplicate", orig)
        assert cluster == by_id[orig][4] and cluster.startswith("sem-") and 0.95 < sim < 1
    assert by_id["respiration"][0] and by_id["respiration"][4] is None  # related, not a copy
    assert funnel["semantic-dedup"] == 2 and funnel["near-dedup"] == 0


def test_semantic_dedup_from_the_cli_with_the_classifiers_vectors(tmp_path):
    output, rows, funnel = _run(tmp_path, "teacher", "classify.cascade.enabled=false")
    assert "semantic dedup: 6 document(s), 6 vector(s) from the classifier" in output
    assert "0 to embed" in output and "2 duplicate(s) at cosine > 0.95" in output
    _check(rows, funnel)
    assert len(list((tmp_path / "teacher" / "corpus").glob("part-*.jsonl.zst"))) == 1
    # a new edu cut changes which documents semantic dedup compares: select says so
    sel = CliRunner().invoke(
        main, ["select", str(tmp_path / "teacher"), "--min-edu", "2", "-o", str(tmp_path / "s")]
    )
    assert sel.exit_code == 1 and "cannot re-run the steps after classify: semantic-dedup" in (
        sel.output
    )
    idx = CliRunner().invoke(main, ["index", str(tmp_path / "teacher"), "--min-edu", "2"])
    assert idx.exit_code == 1 and "index --min-edu cannot re-run" in idx.output
    idx = CliRunner().invoke(main, ["index", str(tmp_path / "teacher")])  # a plain rebuild
    assert idx.exit_code == 0 and "indexed 6 documents (4 kept)" in idx.output, idx.output

    # the cascade student embeds nothing: the step embeds the survivors itself
    output, rows2, funnel = _run(tmp_path, "cascade", "classify.cascade.enabled=true")
    assert "6 document(s), 0 vector(s) from the classifier or the cache, 6 to embed" in output
    _check(rows2, funnel)
    sims = [r[-1] for r in rows if r[-1] is not None]
    assert [r[-1] for r in rows2 if r[-1] is not None] == pytest.approx(sims, abs=1e-4)


def test_config_lists_the_semantic_keys():
    result = CliRunner().invoke(main, ["config", "--set", "dedup.semantic.enabled=true"])
    assert result.exit_code == 0, result.output
    section = result.output.split("  semantic:", 1)[1]
    assert "enabled: true" in section and "threshold: 0.95" in section
    assert "n_clusters: null" in section and "seed: 0" in section
