"""Tiny runs skip Ray (``ray.mode: auto``); in-process steps decide exactly as Ray's do."""

from __future__ import annotations

import shutil
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
    """With the cascade on, small corpora are scored in the driver (no actor pool start),
    with the student's scores from ingest: the same scores and decisions as the pool's, and
    as the driver's own student's."""
    import pyarrow.parquet as pq

    inputs = tuple(str(p) for p in web_shards["paths"])
    outs, stored = {}, {}
    variants = {"pool": (0, True), "driver": (1000, True), "no-ingest-student": (1000, False)}
    for name, (limit, in_ingest) in variants.items():
        sets = ["ray.mode=ray", "classify.cascade.enabled=true"]
        sets += [f"classify.in_process_max_docs={limit}", f"classify.cascade.in_ingest={in_ingest}"]
        out = tmp_path / name
        run_pipeline(load_config(None, sets, inputs=inputs, output=str(out)))
        con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
        outs[name] = con.execute("SELECT id, kept, edu_score FROM documents ORDER BY id").fetchall()
        assert "edu_student" not in {r[0] for r in con.execute("DESCRIBE documents").fetchall()}
        con.close()
        files = sorted((out / "work" / "docs").glob("*/*.parquet"))
        stored[name] = {"edu_student" in pq.read_schema(f).names for f in files}
    assert outs["driver"] == outs["pool"] == outs["no-ingest-student"]
    assert any(score is not None for _, _, score in outs["driver"])
    assert stored == {"pool": {True}, "driver": {True}, "no-ingest-student": {False}}


@pytest.mark.ray
def test_classify_uses_the_students_scores_from_ingest(
    ray_local, web_shards, tmp_path, monkeypatch
):
    """The driver's classify never runs the student when ingest (Ray workers) stored its
    scores, and ignores stored scores of another model (another tag)."""
    from classifiers.model import load_edu_model

    student_cls = type(load_edu_model().student)
    inputs = tuple(str(p) for p in web_shards["paths"])
    sets = ["ray.mode=ray", "classify.cascade.enabled=true", "classify.in_process_max_docs=1000"]
    ref = tmp_path / "ref"
    run_pipeline(
        load_config(
            None, [*sets, "classify.cascade.in_ingest=false"], inputs=inputs, output=str(ref)
        )
    )
    calls: list[int] = []
    predict = student_cls.predict

    def counting(self, texts):
        calls.append(len(texts))
        return predict(self, texts)

    monkeypatch.setattr(student_cls, "predict", counting)  # this process only, not the workers
    out = tmp_path / "out"
    cfg = load_config(None, sets, inputs=inputs, output=str(out))
    run_pipeline(cfg)
    assert calls == []
    query = "SELECT id, kept, edu_score FROM documents ORDER BY id"
    scores = {}
    for name in ("ref", "out"):
        con = duckdb.connect(str(tmp_path / name / "corpus.duckdb"), read_only=True)
        scores[name] = con.execute(query).fetchall()
        con.close()
    assert scores["out"] == scores["ref"]

    shutil.rmtree(out / "work" / "edu")
    (out / "work" / "state.json").unlink()
    monkeypatch.setattr("classifiers.student_scores.student_tag", lambda cfg: "another-model")
    run_pipeline(cfg)
    assert sum(calls) > 0
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    assert con.execute(query).fetchall() == scores["ref"]
    con.close()


def test_the_teacher_sees_only_the_students_band(web_shards, tmp_path, monkeypatch):
    """With the student's scores from ingest, classify hands the teacher only the survivors
    in the band; the others keep the student's score (4 decimals)."""
    from classifiers.model import EduModel

    seen: list[str] = []
    predict = EduModel.predict

    def counting(self, texts, *args, **kwargs):
        seen.extend(texts)
        return predict(self, texts, *args, **kwargs)

    monkeypatch.setattr(EduModel, "predict", counting)
    out = tmp_path / "out"
    band = ["classify.cascade.low=2.5", "classify.cascade.high=2.9"]
    sets = ["ray.mode=local", "classify.cascade.enabled=true", *band]
    inputs = tuple(str(p) for p in web_shards["paths"])
    run_pipeline(load_config(None, sets, inputs=inputs, output=str(out)))
    con = duckdb.connect()
    rows = con.execute(
        f"""ATTACH '{out / "corpus.duckdb"}' AS l (READ_ONLY);
        SELECT w.edu_student, d.edu_score, w.text
        FROM read_parquet('{out}/work/docs/*/*.parquet') w JOIN l.documents d USING (uid)
        WHERE d.kept OR d.drop_stage = 'classify'"""
    ).fetchall()
    con.close()
    in_band = [text for s, _, text in rows if 2.5 <= s < 2.9]
    assert in_band and len(in_band) < len(rows)
    assert sorted(seen) == sorted(in_band)
    assert all(score == round(s, 4) for s, score, _ in rows if not 2.5 <= s < 2.9)


@pytest.mark.ray
@pytest.mark.parametrize(
    "extra_cpus, in_ingest, driver",
    [(0, True, True), (4, True, False), (0, False, False)],
    ids=["one-machine", "cluster", "student-not-stored"],
)
def test_over_the_limit_a_pool_only_where_it_adds_cores(
    ray_local, web_shards, tmp_path, monkeypatch, extra_cpus, in_ingest, driver
):
    """Past ``classify.in_process_max_docs`` the teacher's band (the student's scores
    stored by ingest) goes to an actor pool only when the Ray cluster has more CPUs than
    this machine: on one machine a pool runs on the same cores, with a start and a model
    per actor. Without stored scores the student's work is counted and goes to the pool."""
    import os

    from pipelines import ray_backend as rb

    modes: list[bool] = []
    real = rb.in_process
    monkeypatch.setattr(rb, "in_process", lambda flag: modes.append(flag) or real(flag))
    monkeypatch.setattr(rb, "cluster_cpus", lambda: (os.cpu_count() or 1) + extra_cpus)
    sets = ["ray.mode=ray", "classify.cascade.enabled=true", "classify.in_process_max_docs=1"]
    sets += ["classify.cascade.low=0", "classify.cascade.high=5"]  # every document in the band
    sets += [f"classify.cascade.in_ingest={in_ingest}"]
    inputs = tuple(str(p) for p in web_shards["paths"])
    run_pipeline(load_config(None, sets, inputs=inputs, output=str(tmp_path / "out")))
    assert modes[-1] is driver  # classify's is the last step to choose
