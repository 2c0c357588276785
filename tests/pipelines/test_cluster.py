"""``primer run`` on a real two-node Ray cluster (both nodes on this machine).

The cluster (``raycluster.py``) is started once for the module: a head with the
dashboard (job submission) and a worker node, 1 CPU each, in their own temp dirs. Each
test compares the cluster's corpus with an in-process run of the same inputs, byte for
byte. The node-kill test runs last: it takes the worker node down.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import zstandard

from tests.pipelines import raycluster

pytestmark = [pytest.mark.slow, pytest.mark.ray]

DEMO = raycluster.REPO / "pipelines" / "demo_data"
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def cluster():
    c = raycluster.start_cluster(2)
    try:
        yield c
    finally:
        c.stop()


def split_jsonl_zst(src: Path, dest: Path, n: int, repeat: int = 1) -> list[Path]:
    """``src``'s records (``repeat`` times, ids made unique) dealt round-robin into ``n`` shards."""
    lines = zstandard.ZstdDecompressor().stream_reader(src.open("rb")).read().decode().splitlines()
    shards: list[list[str]] = [[] for _ in range(n)]
    i = 0
    for r in range(repeat):
        for line in lines:
            rec = json.loads(line)
            if r:
                rec["id"] = f"{rec['id']}#{r}"
            shards[i % n].append(json.dumps(rec, ensure_ascii=False))
            i += 1
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, rows in enumerate(shards):
        p = dest / f"site-{k}.jsonl.zst"
        p.write_bytes(zstandard.ZstdCompressor().compress(("\n".join(rows) + "\n").encode()))
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """The demo sample as five shards: four JSONL slices and the WARC."""
    d = tmp_path_factory.mktemp("cluster-in")
    split_jsonl_zst(DEMO / "site-packages.jsonl.zst", d, 4)
    (d / "python-docs.warc.gz").write_bytes((DEMO / "python-docs.warc.gz").read_bytes())
    return d


def primer(args: list[str], env: dict[str, str], timeout: float = RUN_TIMEOUT_S):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env=env,
        cwd=raycluster.REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_args(inputs: Path, out: Path, *sets: str) -> list[str]:
    args = ["run", "--input", str(inputs), "--output", str(out), "--quiet"]
    for s in sets:
        args += ["--set", s]
    return args


def corpus_bytes(out: Path) -> dict[str, bytes]:
    """Each corpus part's decompressed content (the compressed frames may differ in level)."""
    parts = sorted((out / "corpus").glob("part-*.jsonl.zst"))
    assert parts, f"no corpus parts in {out}"
    d = zstandard.ZstdDecompressor()
    return {p.name: d.stream_reader(io.BytesIO(p.read_bytes())).read() for p in parts}


@pytest.fixture(scope="module")
def local_corpus(inputs, tmp_path_factory) -> dict[str, bytes]:
    """The reference: the same inputs run in-process (no Ray at all)."""
    out = tmp_path_factory.mktemp("local-out")
    t0 = time.monotonic()
    r = primer(run_args(inputs, out, "ray.mode=local"), raycluster.node_env())
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"\nlocal run: {time.monotonic() - t0:.1f} s")
    return corpus_bytes(out)


def shard_nodes(out: Path) -> dict[str, str]:
    """input path -> Ray node id, from the ledger's ``ingest_shards`` table."""
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        return dict(con.execute("SELECT path, node_id FROM ingest_shards").fetchall())
    finally:
        con.close()


def test_run_on_two_nodes_uses_both_and_matches_local(cluster, inputs, local_corpus, tmp_path):
    out = tmp_path / "out"
    env = {**raycluster.node_env(), "RAY_ADDRESS": cluster.address}
    t0 = time.monotonic()
    r = primer(run_args(inputs, out, "ray.mode=ray"), env)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"\ntwo-node run: {wall:.1f} s (load {os.getloadavg()[0]:.1f})")

    nodes = shard_nodes(out)
    assert len(nodes) == 5
    markers = [json.loads(p.read_text()) for p in (out / "work" / "done").glob("*.json")]
    assert {m["path"]: m["node_id"] for m in markers} == nodes
    assert set(nodes.values()) == set(cluster.alive_node_ids())  # both nodes did shards
    assert corpus_bytes(out) == local_corpus

    # Rerunning on the cluster is a no-op (markers and state are the driver's files).
    r = primer(run_args(inputs, out, "ray.mode=ray"), env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert corpus_bytes(out) == local_corpus
