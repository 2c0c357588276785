"""near_dedup through local Ray on planted near-duplicates spread over input files.

Each near_dedup call is 2-4 Ray Data executions (~5 s each on 2 idle cores, far more
on a busy machine): the multi-run tests are marked slow; the CLI test stays in the fast set.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.dedup.config import DedupConfig
from pipelines.layout import shard_key
from pipelines.near_dedup import near_dedup

VOCAB = [f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(3000)]


def random_doc(rng: np.random.Generator, n: int = 300) -> list[str]:
    return rng.choice(VOCAB, size=n).tolist()


def edit(words: list[str], rng: np.random.Generator, n_edits: int) -> list[str]:
    """Replace ``n_edits`` scattered words: ~5 shingles change per edit."""
    out = list(words)
    for i in rng.choice(len(out), size=n_edits, replace=False):
        out[i] = "zz" + VOCAB[int(rng.integers(len(VOCAB)))]
    return out


def write(path: Path, docs: list[tuple[str, list[str]]], score: list[float] | None = None) -> str:
    table = {
        "uid": [f"{path.stem}:{i}" for i in range(len(docs))],
        "id": [d[0] for d in docs],
        "source_file": [path.stem] * len(docs),
        "position": list(range(len(docs))),
        "text": [" ".join(w) for _, w in docs],
    }
    if score is not None:
        table["edu_score"] = score
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), path)
    return str(path)


@pytest.fixture
def corpus(tmp_path: Path) -> dict:
    rng = np.random.default_rng(7)
    base = [random_doc(rng) for _ in range(12)]
    a = [(f"a{i}", w) for i, w in enumerate(base[:8])]
    b = (
        [
            ("b-near-a1", edit(base[1], rng, 3)),  # Jaccard ~0.9 with a1
            ("b-near-a5", edit(base[5], rng, 2)),
            ("b-also-a5", edit(base[5], rng, 4)),  # a 3-member cluster across files
            ("b-far-a2", edit(base[2], rng, 40)),  # Jaccard ~0.3: not a duplicate
        ]
        + [(f"b{i}", w) for i, w in enumerate(base[8:])]
    )
    b.append(("b-empty", []))
    files = [write(tmp_path / "in" / "a.parquet", a), write(tmp_path / "in" / "b.parquet", b)]
    return {"files": files, "base": base, "rng": rng, "tmp": tmp_path}


def drops_of(out: Path) -> dict[str, dict]:
    return {r["uid"]: r for r in pq.read_table(out / "near_dups.parquet").to_pylist()}


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("in_process_max_docs", [0, 1000], ids=["ray", "in-process"])
def test_near_dedup_then_against_an_earlier_run(ray_local, corpus, in_process_max_docs):
    cfg = DedupConfig(verify=False, in_process_max_docs=in_process_max_docs)
    out = corpus["tmp"] / "out1"
    path = near_dedup(corpus["files"], out, cfg)
    assert path == out / "near_dups.parquet"
    drops = drops_of(out)
    assert set(drops) == {"b:0", "b:1", "b:2"}
    assert drops["b:0"]["duplicate_of"] == "a1" and drops["b:0"]["dup_cluster"] == "a:1"
    assert drops["b:1"]["duplicate_of"] == drops["b:2"]["duplicate_of"] == "a5"
    assert {r["drop_reason"] for r in drops.values()} == {"near-duplicate"}
    clusters = pq.read_table(out / "clusters.parquet").to_pylist()
    assert sorted((r["uid"], r["dup_cluster"], r["kept"]) for r in clusters) == [
        ("a:1", "a:1", True),
        ("a:5", "a:5", True),
        ("b:0", "a:1", False),
        ("b:1", "a:5", False),
        ("b:2", "a:5", False),
    ]
    bands = pq.read_table(sorted((out / "minhash").glob("bands-*.parquet"))).to_pandas()
    assert set(bands["uid"]) == {f"a:{i}" for i in range(8)} | {"b:3", "b:4", "b:5", "b:6", "b:7"}
    assert (bands.groupby("uid").size() == 14).all()
    stats = json.loads((out / "near_dedup_stats.json").read_text())
    assert stats["documents"] == 17 and stats["dropped"] == 3
    assert stats["in_process"] is bool(in_process_max_docs)

    # A later crawl: one page near-duplicates a kept page of run 1, one is new.
    rng = corpus["rng"]
    new = write(
        corpus["tmp"] / "in2" / "c.parquet",
        [
            ("c-near-a3", edit(corpus["base"][3], rng, 2)),
            ("c-new", random_doc(rng)),
            ("c-near-b", edit(corpus["base"][9], rng, 2)),
        ],
    )
    out2 = corpus["tmp"] / "out2"
    near_dedup([new], out2, cfg, against=[out])
    drops2 = drops_of(out2)
    assert {k: v["duplicate_of"] for k, v in drops2.items()} == {"c:0": "a3", "c:2": "b1"}
    assert drops2["c:0"]["dup_cluster"] == "a:3"
    kept2 = set(
        pq.read_table(sorted((out2 / "minhash").glob("bands-*.parquet")))["uid"].to_pylist()
    )
    assert kept2 == {"c:1"}


@pytest.mark.ray
@pytest.mark.slow
def test_verify_removes_lsh_false_positives_and_keep_policies(ray_local, tmp_path):
    rng = np.random.default_rng(3)
    base = [random_doc(rng, 200) for _ in range(3)]
    docs = [
        ("x0", base[0]),
        ("x0-half", base[0][:100] + random_doc(rng, 100)),  # Jaccard ~0.33
        ("x1", base[1]),
        ("x1-near", edit(base[1], rng, 2) + ["extra", "words", "here"]),  # longer, Jaccard ~0.9
        ("x2", base[2]),
    ]
    files = [write(tmp_path / "in" / "x.parquet", docs, score=[1.0, 2.0, 3.0, 1.0, 0.0])]
    # 40 bands of 1 row: every pair with Jaccard > ~0.1 becomes a candidate.
    loose = {"bands": 40, "rows": 1}
    near_dedup(files, tmp_path / "raw", DedupConfig(**loose, verify=False))
    assert set(drops_of(tmp_path / "raw")) == {"x:1", "x:3"}
    for where, limit in (("ver", 0), ("ver-in-process", 1000)):  # Ray's shuffle, then none
        cfg = DedupConfig(**loose, verify=True, keep="longest", in_process_max_docs=limit)
        near_dedup(files, tmp_path / where, cfg)
        drops = drops_of(tmp_path / where)
        assert {k: v["duplicate_of"] for k, v in drops.items()} == {"x:2": "x1-near"}
        stats = json.loads((tmp_path / where / "near_dedup_stats.json").read_text())
        assert stats["edges_rejected_by_verify"] >= 1
    near_dedup(files, tmp_path / "score", DedupConfig(keep="highest_score"))
    assert {k: v["duplicate_of"] for k, v in drops_of(tmp_path / "score").items()} == {"x:3": "x1"}


@pytest.mark.ray
def test_dedup_command_on_jsonl_inputs(ray_local, tmp_path):
    import zstandard
    from click.testing import CliRunner

    from pipelines.cli import main

    rng = np.random.default_rng(11)
    base = [random_doc(rng, 150) for _ in range(5)]
    one = tmp_path / "in" / "one.jsonl"
    two = tmp_path / "in" / "two.jsonl.zst"
    one.parent.mkdir()
    one.write_text(
        "\n".join(
            json.dumps({"id": f"p{i}", "text": " ".join(w), "url": f"https://e.org/{i}"})
            for i, w in enumerate(base)
        )
        + "\n"
    )
    rows = [
        {"id": "q-copy-p2", "text": " ".join(edit(base[2], rng, 2))},
        {"id": "q-new", "text": " ".join(random_doc(rng, 150))},
    ]
    two.write_bytes(
        zstandard.ZstdCompressor().compress(
            ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
        )
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["dedup", str(one), str(two), "--output", str(out), "--set", "ray.progress=false"]
    )
    assert result.exit_code == 0, result.output
    assert "read 7 document(s) from 2 file(s)" in result.output
    assert "1 dropped" in result.output
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    drops = con.execute(
        "SELECT id, uid, duplicate_of, drop_stage, drop_reason FROM documents WHERE NOT kept"
    ).fetchall()
    con.close()
    assert drops == [("q-copy-p2", f"{shard_key(two)}/0", "p2", "near-dedup", "near-duplicate")]
    kept = []
    for part in sorted((out / "corpus").glob("part-*.jsonl.zst")):
        text = zstandard.ZstdDecompressor().stream_reader(part.open("rb")).read().decode()
        kept += [json.loads(line) for line in text.splitlines()]
    assert [r["id"] for r in kept] == ["p0", "p1", "p2", "p3", "p4", "q-new"]
    assert kept[0]["metadata"]["url"] == "https://e.org/0"
    assert (out / "work" / "near" / "minhash").is_dir()  # for a later --against out


def test_against_accepts_dedup_and_run_outputs(tmp_path):
    from pipelines.near_dedup import index_dir

    (tmp_path / "dedup-out" / "minhash").mkdir(parents=True)  # primer dedup OUT
    (tmp_path / "run-out" / "work" / "near" / "minhash").mkdir(parents=True)  # primer run OUT
    assert index_dir(tmp_path / "dedup-out") == tmp_path / "dedup-out"
    assert index_dir(tmp_path / "run-out") == tmp_path / "run-out" / "work" / "near"
    with pytest.raises(FileNotFoundError, match="no MinHash index"):
        index_dir(tmp_path)


def test_bands_from_ingest_are_used_only_with_the_same_parameters(corpus):
    """Ingest's ``minhash`` column replaces shingling in near dedup, with equal decisions;
    bands of other parameters (here another seed) are ignored, not trusted."""
    from corpus.dedup.candidates import with_minhash

    cfg = DedupConfig(verify=True)
    tagged = []
    for f in corpus["files"]:
        t = pq.read_table(f)
        t = t.append_column("drop_reason", pa.nulls(t.num_rows, pa.string()))
        t = t.append_column("n_chars", pa.array([len(x) for x in t.column("text").to_pylist()]))
        dest = Path(f).parent.parent / "tagged" / Path(f).name
        dest.parent.mkdir(exist_ok=True)
        pq.write_table(with_minhash(t, cfg), dest)
        tagged.append(str(dest))
    runs = {}
    for name, files, config in (
        ("text", corpus["files"], cfg),
        ("ingest", tagged, cfg),
        ("other-seed", tagged, DedupConfig(verify=True, seed=2)),
    ):
        out = corpus["tmp"] / name
        near_dedup(files, out, config)
        runs[name] = (
            {k: v["duplicate_of"] for k, v in drops_of(out).items()},
            json.loads((out / "near_dedup_stats.json").read_text()),
        )
    assert runs["text"][1]["signatures"] == "computed"
    assert runs["ingest"][1]["signatures"] == "ingest"
    assert runs["other-seed"][1]["signatures"] == "computed"
    assert runs["ingest"][0] == runs["text"][0] == {"b:0": "a1", "b:1": "a5", "b:2": "a5"}
    assert runs["ingest"][1]["candidate_edges"] == runs["text"][1]["candidate_edges"]
