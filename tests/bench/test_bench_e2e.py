"""``bench e2e``: the seeded input builder, and one tiny run of all three systems."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import e2e

ROOT = Path(__file__).resolve().parents[2]


def _shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    w = text.split()
    return {tuple(w[i : i + n]) for i in range(max(1, len(w) - n + 1))}


@pytest.fixture(scope="module")
def pool(shared_data):
    return e2e.load_pool(shared_data / "web")


def test_build_docs_is_seeded_with_the_planted_shares(pool):
    docs, info = e2e.build_docs(2000, 3, pool)
    again, _ = e2e.build_docs(2000, 3, pool)
    other, _ = e2e.build_docs(2000, 4, pool)
    texts = [d["text"] for d in docs]
    assert texts == [d["text"] for d in again]
    assert texts != [d["text"] for d in other]
    assert (info["planted_near"], info["planted_exact"]) == (100, 40)
    # base documents are unique, so the only exact repeats are the planted copies
    assert len(texts) - len(set(texts)) == 40
    # a planted near-copy of >= 50 words (Gopher's minimum: shorter ones never reach
    # dedup) has a source at Jaccard >= 0.8 (one word in a hundred edited)
    base = [_shingles(d["text"]) for d in docs if d["_planted"] is None]
    near = [_shingles(d["text"]) for d in docs if d["_planted"] == "near"]
    assert len(near) == 100
    for s in (s for s in near if len(s) >= 50):
        assert max(len(s & b) / len(s | b) for b in base) >= 0.8
    # the samples' language mix: mostly English, several others
    assert 0.6 < info["lang_share"]["en"] < 0.97
    assert len(info["lang_share"]) >= 3


def test_build_input_writes_files_once(pool, tmp_path, monkeypatch):
    monkeypatch.setattr(e2e, "load_pool", lambda: pool)
    path, info = e2e.build_input(300, 0, 2, root=tmp_path)
    parts = sorted((path / "docs").glob("*.jsonl.gz"))
    assert len(parts) == 2 and info["files"] == 2
    rows = []
    for p in parts:
        with gzip.open(p, "rt") as f:
            rows += [json.loads(line) for line in f]
    assert len(rows) == 300 and set(rows[0]) == {"id", "text", "url"}
    stamp = parts[0].stat().st_mtime_ns
    assert e2e.build_input(300, 0, 2, root=tmp_path)[0] == path  # cached: not rebuilt
    assert parts[0].stat().st_mtime_ns == stamp


def test_stage_costs_time_every_ingest_stage(pool, tmp_path, monkeypatch):
    monkeypatch.setattr(e2e, "load_pool", lambda: pool)
    path, _ = e2e.build_input(200, 0, 1, root=tmp_path)
    cost = e2e.stage_costs(path / "docs" / "part-000.jsonl.gz", 120)
    stages = {"filters", "decontam", "pii", "toxicity", "tokens", "edu-student"}
    assert stages <= set(cost) and cost["filters"] > 0 and cost["edu-student"] > 0
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"), abs=0.1)


@pytest.mark.slow
def test_tiny_run_of_all_three_systems(shared_data, tmp_path, monkeypatch):
    pytest.importorskip("datatrove")
    pytest.importorskip("spacy")
    out = tmp_path / "e2e.json"
    # As a user runs it, in its own process: run in-process, something it leaves behind
    # made a later fastText training in the same test session diverge (NaN) every time.
    env = {**os.environ, "PRIMER_BENCH_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "bench", "e2e", "--docs", "500", "--repeats", "1"]
    subprocess.run([*cmd, "--output", str(out)], check=True, env=env, cwd=ROOT, timeout=900)
    res = json.loads(out.read_text())
    s = res["systems"]
    assert set(s) == {"primer_dedup", "datatrove", "primer_full"}
    assert 0 < s["primer_full"]["kept"] <= s["primer_dedup"]["kept"] < 500
    assert 0 < s["datatrove"]["kept"] < 500
    assert s["primer_dedup"]["dropped_by_step"]["near-dedup"] > 0
    assert all(v["peak_rss_mb_max"] > 50 for v in s.values())
    assert {"ingest", "near-dedup", "ledger"} <= set(s["primer_dedup"]["phases_median_s"])
