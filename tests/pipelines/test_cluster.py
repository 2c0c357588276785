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
import urllib.request
from pathlib import Path

import duckdb
import pytest
import zstandard

from tests.pipelines import raycluster, s3server

pytestmark = [pytest.mark.slow, pytest.mark.ray]

DEMO = raycluster.REPO / "pipelines" / "demo_data"
RUN_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server; its credentials in this process's environment and the nodes'."""
    if not s3server.MOTO.exists():
        pytest.skip("moto[server] is not installed")
    moto = s3server.moto_server(tmp_path_factory.mktemp("moto"))
    with moto as env, pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        yield env


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory) -> Path:
    """The worker node's own PRIMER_CACHE: it shares no staging dir with the driver."""
    return tmp_path_factory.mktemp("worker-cache")


@pytest.fixture(scope="module")
def cluster(s3, worker_cache):
    c = raycluster.start_cluster(2, env=[s3, {**s3, "PRIMER_CACHE": str(worker_cache)}])
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


def test_two_nodes_from_s3_to_s3_share_no_local_path(
    cluster, s3, worker_cache, inputs, local_corpus, tmp_path
):
    """Inputs and output on the S3 server; the worker node has its own cache, so its
    shards reach the driver only through the object store."""
    for f in sorted(inputs.iterdir()):
        s3server.put(f"s3://crawl/cluster/{f.name}", f.read_bytes())
    s3server.mkbucket("corpora")
    driver_cache = tmp_path / "driver-cache"
    env = {
        **raycluster.node_env(),
        **s3,
        "RAY_ADDRESS": cluster.address,
        "PRIMER_CACHE": str(driver_cache),
    }
    args = ["run", "-i", "s3://crawl/cluster/*", "-o", "s3://corpora/two-node/", "--quiet"]
    t0 = time.monotonic()
    r = primer([*args, "--set", "ray.mode=ray"], env)
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"\ntwo-node s3 run: {time.monotonic() - t0:.1f} s")

    worker_work = list((worker_cache / "outputs").glob("two-node-*/work/done/*.json"))
    assert worker_work, "the worker node ran no shard into its own staging dir"
    assert list((worker_cache / "inputs" / "s3" / "crawl" / "cluster").iterdir())  # fetched
    stage = next((driver_cache / "outputs").glob("two-node-*"))
    nodes = shard_nodes(stage)
    assert set(nodes.values()) == set(cluster.alive_node_ids())
    assert all(p.startswith("s3://crawl/cluster/") for p in nodes)
    d = zstandard.ZstdDecompressor()
    for name, ref in local_corpus.items():
        ours = d.stream_reader(io.BytesIO(s3server.get(f"s3://corpora/two-node/corpus/{name}")))
        assert ours.read().decode() == ref.decode().replace(str(inputs), "s3://crawl/cluster")


def test_job_submission_with_runtime_env(cluster, inputs, local_corpus, tmp_path, monkeypatch):
    """``ray job submit`` through the head's dashboard: the repo as ``working_dir``, offline
    env vars; nothing is pip-installed at run time (the nodes carry the dependencies)."""
    from ray.job_submission import JobStatus, JobSubmissionClient

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # as the cluster (raycluster.node_env)
    out = tmp_path / "out"
    client = JobSubmissionClient(cluster.dashboard)
    entry = " ".join([sys.executable, "-m", "pipelines.cli", *run_args(inputs, out)[:-1]])
    job = client.submit_job(
        entrypoint=entry + " --set ray.mode=ray",
        runtime_env={
            "working_dir": str(raycluster.REPO),
            "excludes": [".venv", ".git", "demo-out", "out", "bench/results"],
            "env_vars": {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PRIMER_JOB": "test"},
        },
    )
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = client.get_job_status(job)
    while not status.is_terminal() and time.monotonic() < deadline:
        time.sleep(3)
        status = client.get_job_status(job)
    logs = client.get_job_logs(job)
    assert status == JobStatus.SUCCEEDED, logs[-3000:]
    assert "[primer] done:" in logs
    info = client.get_job_info(job)
    # The job's code travelled as a package through the head (runtime_env working_dir).
    assert info.runtime_env["working_dir"].startswith("gcs://")
    assert corpus_bytes(out) == local_corpus
    assert set(shard_nodes(out).values()) <= set(cluster.alive_node_ids())


def test_worker_node_killed_mid_ingest(cluster, tmp_path):
    """SIGKILL the worker node's raylet as soon as the first shard is finished (both nodes
    are then busy, 1 CPU each): the run still succeeds (Ray retries the worker's running
    task and re-runs finished ones whose results it held on the head) with the
    in-process corpus.

    Runs last in the module: the worker node stays down."""
    d = tmp_path / "in"
    n_shards = 8
    split_jsonl_zst(DEMO / "site-packages.jsonl.zst", d, n_shards, repeat=4)
    sets = ["classify.enabled=false"]
    ref = tmp_path / "local"
    r = primer(run_args(d, ref, "ray.mode=local", *sets), raycluster.node_env())
    assert r.returncode == 0, r.stderr[-3000:]

    worker = cluster.nodes[1]
    head_id = _head_node_id(cluster)
    assert len(cluster.alive_node_ids()) == 2
    out = tmp_path / "out"
    env = {**raycluster.node_env(), "RAY_ADDRESS": cluster.address}
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *run_args(d, out, "ray.mode=ray", *sets)],
        env=env,
        cwd=raycluster.REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        done = out / "work" / "done"
        deadline = time.monotonic() + RUN_TIMEOUT_S
        killed_after = None
        while time.monotonic() < deadline and proc.poll() is None:
            markers = [json.loads(p.read_text()) for p in done.glob("*.json")]
            if markers:
                worker.raylet().kill()
                killed_after = len(markers)
                t_kill = time.monotonic() - t0
                break
            time.sleep(0.2)
        assert killed_after is not None, "the run ended before any shard was marked done"
        output, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(
        f"\nworker raylet killed {t_kill:.0f} s in, after {killed_after}/{n_shards} shard(s);"
        f" run took {time.monotonic() - t0:.0f} s"
    )
    assert proc.returncode == 0, output[-3000:]
    assert killed_after < n_shards
    deadline = time.monotonic() + 120  # the GCS declares a node dead after missed health checks
    while cluster.alive_node_ids() != [head_id] and time.monotonic() < deadline:
        time.sleep(2)
    assert cluster.alive_node_ids() == [head_id]
    assert len(shard_nodes(out)) == n_shards
    assert corpus_bytes(out) == corpus_bytes(ref)


def _head_node_id(cluster) -> str:
    with urllib.request.urlopen(f"{cluster.dashboard}/api/v0/nodes?limit=100", timeout=20) as r:
        rows = json.load(r)["data"]["result"]["result"]
    return next(n["node_id"] for n in rows if n["is_head_node"])
