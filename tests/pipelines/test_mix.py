"""``primer mix``: token shares within 1% of the recipe, byte-identical reruns, resume,
epoch caps, edu upsampling, dry run and recipe errors, over real (small) primer runs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml
import zstandard
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import ConfigError, load_config
from pipelines.mix import load_recipe
from pipelines.mix_shuffle import run_mix
from pipelines.pipeline import run_pipeline
from tests.pipelines.conftest import TOPICS, _doc


def _records(out: Path) -> list[dict]:
    docs = []
    for part in sorted((out / "corpus").glob("part-*.jsonl.zst")):
        with zstandard.ZstdDecompressor().stream_reader(part.open("rb")) as r:
            docs += [json.loads(line) for line in r.read().decode().splitlines()]
    return docs


def _make_run(root: Path, name: str, n: int, offset: int, max_docs: int) -> Path:
    """A finished primer run over ``n`` distinct English lessons (near dedup, classify off)."""
    src = root / f"{name}.jsonl"
    rows = [
        {"id": f"{name}{i}", "text": _doc(offset + i, TOPICS[i % len(TOPICS)])} for i in range(n)
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = root / name
    cfg = load_config(
        None,
        ["classify.enabled=false", "dedup.enabled=false", f"shards.max_docs={max_docs}"],
        inputs=(str(src),),
        output=str(out),
    )
    run_pipeline(cfg)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ray_local) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {
        "web": _make_run(root, "web", 30, 1000, 7),
        "synth": _make_run(root, "synth", 24, 5000, 5),
    }


def _tokens(run: Path, where: str = "true") -> int:
    con = duckdb.connect(str(run / "corpus.duckdb"), read_only=True)
    try:
        return con.execute(
            f"SELECT sum(n_tokens) FROM documents WHERE kept AND {where}"
        ).fetchone()[0]
    finally:
        con.close()


def _recipe(path: Path, **data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _parts(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "corpus").glob("*.jsonl.zst"))}


@pytest.mark.ray
@pytest.mark.slow
def test_mix_matches_recipe_deterministic_and_resumable(runs, tmp_path):
    web, synth = _tokens(runs["web"]), _tokens(runs["synth"])
    # web needs ~9.5 passes, synth ~8.3: a partial pass's last gap (half a document,
    # ~70 tokens) stays well under 1% of each source's target
    total = 9 * (web + synth)
    shares = {"web": round(9.5 * web / total, 4)}
    shares["synth"] = round(1 - shares["web"], 4)
    recipe = _recipe(
        tmp_path / "r.yaml",
        total_tokens=total,
        seed=11,
        docs_per_part=100,
        sources=[
            {"name": "web", "run": str(runs["web"]), "share": shares["web"], "max_epochs": 10},
            {
                "name": "synth",
                "run": str(runs["synth"]),
                "where": "id <> 'synth3'",
                "share": shares["synth"],
                "max_epochs": 9,
            },
        ],
    )
    a = tmp_path / "mix-a"
    manifest = run_mix(recipe, a)
    by_name = {s["name"]: s for s in manifest["sources"]}
    for name, share in shares.items():
        assert abs(by_name[name]["tokens"] - share * total) <= 0.01 * share * total
    assert 9.4 < by_name["web"]["passes"] < 9.6 and 8 < by_name["synth"]["passes"] < 9
    assert manifest["recipe_sha256"] == load_recipe(recipe)[1]
    assert manifest["seed"] == 11

    docs = _records(a)
    assert len(manifest["parts"]) > 1 and len(docs) == sum(
        s["documents"] for s in manifest["sources"]
    )
    assert {d["metadata"]["mix_source"] for d in docs} == {"web", "synth"}
    web_epochs = {d["metadata"]["mix_epoch"] for d in docs if d["metadata"]["mix_source"] == "web"}
    assert web_epochs == set(range(10))
    assert "synth3" not in {d["id"] for d in docs}
    for name in shares:  # output tokens are the documents' own n_tokens
        got = sum(d["metadata"]["n_tokens"] for d in docs if d["metadata"]["mix_source"] == name)
        assert got == by_name[name]["tokens"]
    # shuffled: the sources interleave, not one block after the other
    order = [d["metadata"]["mix_source"] for d in docs]
    assert sum(x != y for x, y in zip(order, order[1:], strict=False)) > len(manifest["parts"]) * 2

    con = duckdb.connect(str(a / "mix.duckdb"), read_only=True)
    rows = dict(con.execute("SELECT source, sum(n_tokens) FROM mix GROUP BY 1").fetchall())
    con.close()
    assert rows == {n: by_name[n]["tokens"] for n in shares}

    # Another output directory, same recipe: byte-identical shards and manifest.
    b = tmp_path / "mix-b"
    run_mix(recipe, b)
    assert _parts(a) == _parts(b)
    assert (a / "manifest.json").read_bytes() != b""
    assert json.loads((a / "manifest.json").read_text()) == json.loads(
        (b / "manifest.json").read_text()
    )

    # A finished mix is a no-op; a mix that lost its manifest and some parts resumes.
    before = {p: p.stat().st_mtime_ns for p in (b / "corpus").iterdir()}
    run_mix(recipe, b)
    assert {p: p.stat().st_mtime_ns for p in (b / "corpus").iterdir()} == before
    lost = sorted((b / "corpus").iterdir())[0]
    lost.unlink()
    (b / "work" / "index" / (lost.name.split("-")[1].split(".")[0] + ".parquet")).unlink()
    (b / "manifest.json").unlink()
    run_mix(recipe, b)
    assert _parts(a) == _parts(b)
    kept = [p for p in before if p != lost]
    assert all(p.stat().st_mtime_ns == before[p] for p in kept)  # finished parts not redone

    # Another seed: another order.
    recipe2 = _recipe(tmp_path / "r2.yaml", **{**yaml.safe_load(recipe.read_text()), "seed": 12})
    run_mix(recipe2, tmp_path / "mix-c")
    assert _parts(tmp_path / "mix-c") != _parts(a)


@pytest.mark.ray
@pytest.mark.slow
def test_epoch_cap_lowers_the_budget_and_dry_run_writes_nothing(runs, tmp_path):
    web = _tokens(runs["web"])
    recipe = _recipe(
        tmp_path / "r.yaml",
        total_tokens=4 * web,
        sources=[{"name": "web", "run": str(runs["web"]), "share": 1.0, "max_epochs": 1.5}],
    )
    out = tmp_path / "dry"
    result = CliRunner().invoke(
        main, ["mix", "--recipe", str(recipe), "--output", str(out), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "capped (needs 4.00 passes)" in result.output
    assert not (out / "manifest.json").exists()
    manifest = run_mix(recipe, tmp_path / "capped")
    (src,) = manifest["sources"]
    # The half pass is whole documents: it may miss 1.5 passes by up to one document.
    con = duckdb.connect(str(runs["web"] / "corpus.duckdb"), read_only=True)
    (biggest,) = con.execute("SELECT max(n_tokens) FROM documents WHERE kept").fetchone()
    con.close()
    assert src["capped"] and abs(src["tokens"] - 1.5 * web) <= biggest
    assert abs(src["passes"] - 1.5) <= biggest / web


def _ledger_only_run(tmp_path: Path) -> Path:
    """A ledger with hand-set edu scores (no model, no text): enough to plan."""
    run = tmp_path / "run"
    (run / "corpus").mkdir(parents=True)
    con = duckdb.connect(str(run / "corpus.duckdb"))
    con.execute(
        "CREATE TABLE documents AS SELECT 'u' || i AS uid, 'd' || i AS id, 'f' AS source_file,"
        " i AS position, 'part-00000.jsonl.zst' AS shard, true AS kept, 100::BIGINT AS n_tokens,"
        " (i % 6)::DOUBLE AS edu_score, (i % 6)::INTEGER AS edu_int FROM range(600) t(i)"
    )
    con.close()
    return run


def test_edu_weights_repeat_documents_per_pass(tmp_path):
    from pipelines.mix import Recipe, make_plan

    run = _ledger_only_run(tmp_path)
    recipe = Recipe.model_validate(
        {
            "total_tokens": 1,
            "seed": 3,
            "edu_weights": {5: 3, 4: 1.5, 0: 0},
            "sources": [{"name": "w", "run": str(run), "share": 1.0}],
        }
    )
    plans, pcon = make_plan(recipe, tmp_path, entries=False)
    # per pass: 100 docs at each score; 0 -> 0 copies, 1-3 -> 1, 4 -> 1 or 2 (seeded), 5 -> 3
    avail = plans[0].available_tokens
    assert abs(avail - 100 * 100 * (3 + 1.5 + 3)) <= 100 * 100 * 0.15
    pcon.close()
    two = recipe.model_copy(update={"total_tokens": 2 * avail})
    two.sources[0].max_epochs = 2
    plans, pcon = make_plan(two, tmp_path)
    copies = dict(
        pcon.execute(
            "SELECT edu_score, count(*) / count(DISTINCT uid) FROM entries GROUP BY 1"
        ).fetchall()
    )
    pcon.close()
    assert 0.0 not in copies and copies[5.0] == 6 and copies[2.0] == 2
    assert 2 < copies[4.0] < 4


def test_recipe_errors_are_one_line(tmp_path):
    run = _ledger_only_run(tmp_path)
    bad = _recipe(
        tmp_path / "bad.yaml",
        total_tokens=10,
        sources=[{"name": "a", "run": str(run), "share": 0.5}],
    )
    with pytest.raises(ConfigError, match="shares must sum to 1"):
        load_recipe(bad)
    where = _recipe(
        tmp_path / "w.yaml",
        total_tokens=10,
        sources=[{"name": "a", "run": str(run), "share": 1, "where": "nope > 1"}],
    )
    result = CliRunner().invoke(main, ["mix", "--recipe", str(where), "-o", str(tmp_path / "o")])
    assert result.exit_code != 0 and "bad where" in result.output
    assert not (tmp_path / "o").exists()
    missing = _recipe(
        tmp_path / "m.yaml",
        total_tokens=10,
        sources=[{"name": "a", "run": str(tmp_path / "nope"), "share": 1}],
    )
    result = CliRunner().invoke(main, ["mix", "--recipe", str(missing), "-o", str(tmp_path / "o")])
    assert result.exit_code != 0 and "no corpus.duckdb" in result.output


@pytest.mark.ray
@pytest.mark.slow
def test_recipe_over_the_demo_output_and_a_synthetic_output(tmp_path, ray_local):
    """The issue's case: the demo's corpus (classified, edu >= 3) plus a `primer run` whose
    documents were all written by an LLM (a real HTTP server answering as the LLM)."""
    from pipelines.demo import sample_paths
    from synth.backends.stub_server import StubChatServer
    from tests.synth.test_run import writer

    demo = tmp_path / "demo"
    run_pipeline(load_config(None, [], inputs=tuple(map(str, sample_paths())), output=str(demo)))
    synth = tmp_path / "synth"
    with StubChatServer(writer) as server:
        overrides = [
            "synth.enabled=true",
            "synth.backend=openai",
            f"synth.openai.endpoint={server.url}",
            "synth.openai.model=stub-llm",
            "synth.n=12",
            "synth.gates.min_words=20",
            "synth.gates.edu_score=false",
            # the stand-in author writes word salad: web rules and the edu model would drop it
            "filters.enabled=false",
            "classify.enabled=false",
        ]
        run_pipeline(load_config(None, overrides, output=str(synth)))
    web, syn = _tokens(demo, "edu_score >= 3"), _tokens(synth)
    assert web > 10_000 and syn > 500
    # the demo source takes exactly 2 passes; the synthetic one 8.5 (its last, partial pass
    # misses at most half a ~130-token document: well under 1%)
    total = 2 * web + round(8.5 * syn)
    shares = {"demo": 2 * web / total, "synth": 1 - 2 * web / total}
    recipe = _recipe(
        tmp_path / "r.yaml",
        total_tokens=total,
        seed=3,
        sources=[
            {"name": "demo", "run": str(demo), "where": "edu_score >= 3", "share": shares["demo"]}
            | {"max_epochs": 2},
            {"name": "synth", "run": str(synth), "share": shares["synth"], "max_epochs": 9},
        ],
    )
    manifest = run_mix(recipe, tmp_path / "mix")
    by_name = {s["name"]: s for s in manifest["sources"]}
    for name, share in shares.items():
        assert abs(by_name[name]["tokens"] - share * total) <= 0.01 * share * total, by_name
    docs = _records(tmp_path / "mix")
    assert {d["metadata"]["mix_source"] for d in docs} == {"demo", "synth"}
    synthetic = [d for d in docs if d["metadata"]["mix_source"] == "synth"]
    assert synthetic and all(d["metadata"].get("source") == "synthetic" for d in synthetic)
