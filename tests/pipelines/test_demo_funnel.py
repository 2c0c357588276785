"""The demo's funnel and corpus stay identical across refactors (issue 12).

Runs the demo pipeline in-process (``ray.mode=local``: same functions and decisions as
Ray, see test_local_mode) and compares the funnel rows, a digest of every document's
decision and a digest of the kept corpus (ids + texts, in order) with
``data/demo_funnel.json``. Variants: the demo as shipped, with the licence rule off (so
exact and near dedup have duplicates to find), and the code demo (code profile).

A change of the funnel on purpose (e.g. a retrained edu model) regenerates the file:

    PRIMER_UPDATE_FUNNEL=1 .venv/bin/pytest tests/pipelines/test_demo_funnel.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest
import zstandard

from pipelines.config import load_config

STORED = Path(__file__).parent / "data" / "demo_funnel.json"
VARIANTS = {  # name: (profile, --set overrides)
    "demo": ("web", []),
    "demo-no-licence-rule": ("web", ["filters.boilerplate.enabled=false"]),
    "demo-code": ("code", []),
}


def _snapshot(out: Path) -> dict:
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        funnel = con.execute("SELECT stage, dropped, remaining, ran FROM funnel ORDER BY ord")
        funnel = [list(r) for r in funnel.fetchall()]
        decisions = con.execute(
            "SELECT id, kept, drop_stage, drop_reason, duplicate_of, dup_cluster IS NOT NULL,"
            " n_tokens FROM documents ORDER BY source_file, position"
        ).fetchall()
        kept = con.execute(
            "SELECT count(*), coalesce(sum(n_tokens), 0) FROM documents WHERE kept"
        ).fetchone()
    finally:
        con.close()
    corpus = hashlib.sha256()
    n = 0
    for part in sorted((out / "corpus").glob("part-*.jsonl.zst")):
        with zstandard.open(part, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                corpus.update(json.dumps([doc["id"], doc["text"]]).encode() + b"\n")
                n += 1
    return {
        "funnel": funnel,
        "kept_documents": kept[0],
        "kept_tokens": int(kept[1]),
        "corpus_documents": n,
        "decisions_sha256": hashlib.sha256(
            json.dumps([list(r) for r in decisions], default=str).encode()
        ).hexdigest(),
        "corpus_sha256": corpus.hexdigest(),
    }


def _run_demo(out: Path, profile: str, overrides: list[str]) -> dict:
    from pipelines import demo, demo_code
    from pipelines.pipeline import run_pipeline

    sample = demo_code if profile == "code" else demo
    inputs = tuple(str(p) for p in sample.sample_paths())
    extra = {"profile": "code"} if profile == "code" else {}
    config = load_config(
        None, ["ray.mode=local", *overrides], inputs=inputs, output=str(out), **extra
    )
    run_pipeline(config, command="primer demo")
    return _snapshot(out)


@pytest.mark.slow
def test_demo_funnel_and_corpus_unchanged(tmp_path):
    got = {name: _run_demo(tmp_path / name, *variant) for name, variant in VARIANTS.items()}
    if os.environ.get("PRIMER_UPDATE_FUNNEL") == "1":
        STORED.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"regenerated {STORED}")
    stored = json.loads(STORED.read_text())
    for name in VARIANTS:
        assert got[name]["funnel"] == stored[name]["funnel"], name
        assert got[name] == stored[name], name
