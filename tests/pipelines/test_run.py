"""End-to-end runs of the pipeline through local Ray (classify off: see tests/classifiers)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import zstandard

from pipelines.config import load_config
from pipelines.pipeline import run_pipeline


def read_corpus(out: Path) -> list[dict]:
    docs = []
    for part in sorted((out / "corpus").glob("part-*.jsonl.zst")):
        with zstandard.ZstdDecompressor().stream_reader(part.open("rb")) as r:
            docs += [json.loads(line) for line in r.read().decode().splitlines()]
    return docs


def ledger(out: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _config(paths, out, **over):
    sets = [f"{k}={v}" for k, v in over.items()]
    return load_config(None, sets, inputs=tuple(str(p) for p in paths), output=str(out))


@pytest.mark.ray
def test_run_ledger_corpus_and_rerun(ray_local, web_shards, tmp_path):
    out = tmp_path / "out"
    cfg = _config(
        web_shards["paths"],
        out,
        **{"classify.enabled": "false", "shards.max_docs": 4},
    )
    result = run_pipeline(cfg)
    assert not result.up_to_date

    # One ledger row per input document, rejects for the unparseable lines.
    (n_docs,) = ledger(out, "SELECT count(*) FROM documents")[0]
    assert n_docs == web_shards["n_docs"]
    assert ledger(out, "SELECT count(*) FROM rejects")[0][0] == web_shards["n_rejects"]
    assert ledger(out, "SELECT count(DISTINCT uid) FROM documents")[0][0] == n_docs

    # Drops carry their stage and reason; the cross-shard duplicate points at the first copy.
    reasons = dict(ledger(out, "SELECT id, drop_reason FROM documents WHERE NOT kept"))
    assert reasons["b-dup"] == "exact-duplicate"
    assert reasons["a-de"] == "lang:de"
    assert reasons["a-short"] is not None
    assert ledger(out, "SELECT duplicate_of FROM documents WHERE id = 'b-dup'")[0][0] == "a0"
    assert reasons["b-near"] == "near-duplicate"
    near = ledger(out, "SELECT duplicate_of, dup_cluster FROM documents WHERE id = 'b-near'")[0]
    assert near[0] == "a2" and near[1] is not None
    members = ledger(out, f"SELECT id FROM documents WHERE dup_cluster = '{near[1]}' ORDER BY id")
    assert [m[0] for m in members] == ["a2", "b-near"]
    (cluster,) = ledger(out, f"SELECT size, members FROM clusters WHERE dup_cluster = '{near[1]}'")
    first = ledger(out, "SELECT first_line FROM documents WHERE id = 'a2'")[0][0]
    assert first and next(d["text"] for d in read_corpus(out) if d["id"] == "a2").startswith(first)
    assert cluster[0] == 2 and [(m["id"], m["kept"]) for m in cluster[1]] == [
        ("a2", True),
        ("b-near", False),
    ]
    assert cluster[1][1]["duplicate_of"] == "a2" and cluster[1][0]["first_line"] == first

    # The corpus is exactly the kept rows, in parts of at most 4, readable with zstandard + json.
    docs = read_corpus(out)
    kept = {r[0] for r in ledger(out, "SELECT id FROM documents WHERE kept")}
    assert {d["id"] for d in docs} == kept and len(docs) == len(kept)
    assert len(list((out / "corpus").glob("part-*.jsonl.zst"))) == -(-len(kept) // 4)
    for d in docs:
        assert set(d) == {"id", "text", "metadata"}
        assert d["metadata"]["n_tokens"] > 0 and d["metadata"]["lang"] == "en"
    assert (
        ledger(
            out, "SELECT count(*) FROM documents WHERE kept AND (shard IS NULL OR n_tokens IS NULL)"
        )[0][0]
        == 0
    )
    assert ledger(out, "SELECT sum(n_tokens) FROM documents WHERE kept")[0][0] == sum(
        d["metadata"]["n_tokens"] for d in docs
    )

    # Measured filter values are stored for re-thresholding in SQL.
    (words,) = ledger(out, "SELECT quality['gopher_words'] FROM documents WHERE id = 'a0'")[0]
    assert words > 50
    assert ledger(out, "SELECT lang_score > 0.65 FROM documents WHERE id = 'a0'")[0][0]

    # Funnel adds up.
    funnel = ledger(out, "SELECT stage, dropped, remaining FROM funnel ORDER BY ord")
    assert funnel[-1][2] == len(kept)
    assert sum(r[1] for r in funnel) == n_docs - len(kept)

    # A rerun of the same command is a no-op and leaves the same corpus.
    before = {p.name: p.read_bytes() for p in (out / "corpus").iterdir()}
    again = run_pipeline(cfg)
    assert again.up_to_date and again.ingested == [] and again.skipped_shards == 2
    assert {p.name: p.read_bytes() for p in (out / "corpus").iterdir()} == before
    runs = ledger(out, "SELECT status FROM runs ORDER BY started")
    assert [r[0] for r in runs] == ["ok", "ok"]

    # --force redoes everything and gives the same corpus.
    forced = run_pipeline(cfg, force=True)
    assert len(forced.ingested) == 2
    assert {p.name: p.read_bytes() for p in (out / "corpus").iterdir()} == before


@pytest.mark.ray
def test_new_shard_is_added_and_old_ones_skipped(ray_local, web_shards, tmp_path):
    out = tmp_path / "out"
    first = _config(web_shards["paths"][:1], out, **{"classify.enabled": "false"})
    run_pipeline(first)
    both = _config(web_shards["paths"], out, **{"classify.enabled": "false"})
    result = run_pipeline(both)
    assert [Path(s["path"]).name for s in result.ingested] == ["b.jsonl.gz"]
    assert ledger(out, "SELECT count(*) FROM documents")[0][0] == web_shards["n_docs"]
    assert (
        ledger(out, "SELECT drop_reason FROM documents WHERE id = 'b-dup'")[0][0]
        == "exact-duplicate"
    )


@pytest.mark.ray
def test_long_tasks_do_not_hit_ray_datas_stall_timeout(ray_local):
    from pipelines import ray_backend as rb

    # Ray Data is imported and configured on first use (rb._data), not by init
    assert rb._data().DataContext.get_current().execution_no_progress_timeout_s == -1


@pytest.mark.ray
def test_until_ingest_skips_global_steps(ray_local, web_shards, tmp_path):
    out = tmp_path / "out"
    run_pipeline(_config(web_shards["paths"], out), until="ingest")
    assert not (out / "work" / "edu").exists()
    assert ledger(out, "SELECT count(*) FROM documents WHERE edu_score IS NOT NULL")[0][0] == 0


def test_bad_config_and_missing_input_fail_fast(tmp_path):
    from corpus.readers.inputs import InputError
    from pipelines.config import ConfigError

    with pytest.raises(ConfigError, match="filters.nonsense"):
        load_config(None, ["filters.nonsense=1"])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("shards:\n  max_docs: zero\n")
    with pytest.raises(ConfigError, match="shards.max_docs"):
        load_config(cfg)
    with pytest.raises(InputError):
        run_pipeline(_config([tmp_path / "nope-*.jsonl"], tmp_path / "o"))


@pytest.mark.ray
@pytest.mark.slow
def test_classify_step_scores_through_an_actor_pool(ray_local, web_shards, tmp_path):
    """The whole pipeline with the shipped MiniLM model, on an actor pool sized to every CPU."""
    out = tmp_path / "out"
    # Batches of 4: the one exported Parquet file is cut into blocks for both actors.
    cfg = _config(
        web_shards["paths"], out, **{"classify.min_edu_score": 2.0, "classify.batch_size": 4}
    )
    run_pipeline(cfg)
    rows = ledger(
        out,
        "SELECT id, kept, drop_stage, drop_reason, edu_score FROM documents "
        "WHERE drop_stage IS NULL OR drop_stage = 'classify'",
    )
    assert rows and all(r[4] is not None and 0.0 <= r[4] <= 5.0 for r in rows)
    assert all(r[1] == (r[4] >= 2.0) for r in rows)
    assert {r[3] for r in rows if not r[1]} <= {"low-edu"}
    # Documents dropped before the classifier were never scored.
    assert (
        ledger(
            out,
            "SELECT count(*) FROM documents WHERE drop_stage = 'langid' AND edu_score IS NOT NULL",
        )[0][0]
        == 0
    )
    docs = read_corpus(out)
    assert docs and all(d["metadata"]["edu_score"] >= 2.0 for d in docs)


def test_actor_pool_leaves_a_cpu_for_reads_and_writes():
    from pipelines.ray_backend import actor_cpus

    assert actor_cpus(1.0, 2, 2) == 0.5  # 2 actors on 2 CPUs: one CPU stays free
    assert actor_cpus(1.0, 1, 1) == 0.0
    assert actor_cpus(1.0, 4, 8) == 1.0  # room left: the reservation is kept
    assert actor_cpus(2.0, 4, 8) == 7 / 4
