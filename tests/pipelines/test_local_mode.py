"""Tiny runs skip Ray (``ray.mode: auto``); in-process steps decide exactly as Ray's do."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.config import load_config
from pipelines.pipeline import resolve_mode, run_pipeline


def _decisions(out: Path) -> list[tuple]:
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT id, kept, drop_stage, drop_reason, duplicate_of, n_tokens FROM documents "
            "ORDER BY id"
        ).fetchall()
    finally:
        con.close()


def test_auto_mode_is_local_only_for_small_inputs_without_a_cluster(web_shards, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr("pipelines.ray_backend.ray_running", lambda: False)
    files = web_shards["paths"]
    assert resolve_mode(load_config(), files) == "local"
    assert resolve_mode(load_config(None, ["ray.local_max_bytes=10"]), files) == "ray"
    assert resolve_mode(load_config(None, ["ray.mode=ray"]), files) == "ray"
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert resolve_mode(load_config(), files) == "ray"


@pytest.mark.ray
def test_local_mode_decides_like_ray(ray_local, web_shards, tmp_path):
    sets = ["classify.enabled=false", "shards.max_docs=4"]
    inputs = tuple(str(p) for p in web_shards["paths"])
    outs = {}
    for mode in ("ray", "local"):
        out = tmp_path / mode
        cfg = load_config(None, [*sets, f"ray.mode={mode}"], inputs=inputs, output=str(out))
        run_pipeline(cfg)
        outs[mode] = out
    assert _decisions(outs["local"]) == _decisions(outs["ray"])
    reasons = {r[0]: r[3] for r in _decisions(outs["local"])}
    assert reasons["b-dup"] == "exact-duplicate" and reasons["b-near"] == "near-duplicate"
    parts = [sorted(p.name for p in (o / "corpus").glob("part-*")) for o in outs.values()]
    assert parts[0] == parts[1]
    assert [(o / "corpus" / parts[0][0]).read_bytes() for o in outs.values()].count(
        (outs["ray"] / "corpus" / parts[0][0]).read_bytes()
    ) == 2
    # where each run's seconds went, one row per phase in order: Ray's start only with Ray
    phases = {}
    for mode, out in outs.items():
        con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
        rows = con.execute("SELECT phase, seconds FROM phases ORDER BY ord").fetchall()
        con.close()
        assert all(s >= 0 for _, s in rows)
        phases[mode] = [p for p, _ in rows]
    steps = ["exact-dedup", "near-dedup", "classify", "semantic-dedup", "write", "ledger"]
    assert phases["ray"] == ["ray start", "ingest", *steps]
    assert phases["local"] == ["ingest", *steps]


@pytest.mark.ray
def test_cascade_scores_in_the_driver_like_the_actor_pool(ray_local, web_shards, tmp_path):
    """With the cascade on, small corpora are scored in the driver (no actor pool start):
    the same scores and decisions as the pool's."""
    inputs = tuple(str(p) for p in web_shards["paths"])
    outs = {}
    for name, limit in (("pool", 0), ("driver", 1000)):
        sets = ["ray.mode=ray", "classify.cascade.enabled=true"]
        sets.append(f"classify.in_process_max_docs={limit}")
        out = tmp_path / name
        run_pipeline(load_config(None, sets, inputs=inputs, output=str(out)))
        con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
        outs[name] = con.execute("SELECT id, kept, edu_score FROM documents ORDER BY id").fetchall()
        con.close()
    assert outs["driver"] == outs["pool"]
    assert any(score is not None for _, _, score in outs["driver"])
