"""``s3://`` inputs and outputs against a real S3 API (moto's server on 127.0.0.1)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import zstandard

from corpus.readers.inputs import InputError, expand_remote, filesystem
from tests.pipelines.raycluster import REPO, free_ports, node_env

DEMO = REPO / "pipelines" / "demo_data"
DEMO_FILES = ("python-docs.warc.gz", "site-packages.jsonl.zst")  # the web demo (make demo)
MOTO = Path(sys.executable).with_name("moto_server")


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server (subprocess, stopped by pid); yields the env that points at it."""
    if not MOTO.exists():
        pytest.skip("moto[server] is not installed")
    (port,) = free_ports(1)
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=fh, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {log.read_text()}") from None
                time.sleep(0.5)
        env = {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def mkbucket(name: str) -> None:
    import boto3  # moto's dependency; primer itself does not need it

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    if name not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=name)


def put(uri: str, data: bytes) -> None:
    store, key = filesystem(uri)
    mkbucket(key.split("/")[0])
    with store.open_output_stream(key) as out:
        out.write(data)


def get(uri: str) -> bytes:
    store, key = filesystem(uri)
    with store.open_input_stream(key) as f:
        return f.read()


def test_expand_remote_globs_like_local(s3):
    for key in ("a/x.jsonl.gz", "a/y.jsonl.gz", "a/sub/z.jsonl.gz", "a/_SUCCESS", "a/n.txt"):
        put(f"s3://globs/{key}", b"{}\n")
    assert expand_remote("s3://globs/a/*.jsonl.gz") == [
        "s3://globs/a/x.jsonl.gz",
        "s3://globs/a/y.jsonl.gz",
    ]
    assert expand_remote("s3://globs/a/**/*.jsonl.gz") == [
        "s3://globs/a/sub/z.jsonl.gz",
        "s3://globs/a/x.jsonl.gz",
        "s3://globs/a/y.jsonl.gz",
    ]
    assert len(expand_remote("s3://globs/a/")) == 3  # a prefix: recursive, data files only
    assert expand_remote("s3://globs/a/x.jsonl.gz") == ["s3://globs/a/x.jsonl.gz"]
    with pytest.raises(InputError, match="matches no readable object"):
        expand_remote("s3://globs/a/*.parquet")
    with pytest.raises(InputError, match="no such object"):
        expand_remote("s3://globs/nope.jsonl")
    with pytest.raises(InputError, match="s3://no-bucket/x.jsonl: "):
        expand_remote("s3://no-bucket/x.jsonl")


def _primer(args: list[str], env: dict[str, str]):
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env={**node_env(), **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _text(data: bytes) -> str:
    return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read().decode()


@pytest.mark.slow
def test_demo_from_s3_to_s3_equals_local_run(s3, tmp_path, monkeypatch):
    for f in DEMO_FILES:
        put(f"s3://crawl/demo/{f}", (DEMO / f).read_bytes())
    mkbucket("corpora")
    cache = tmp_path / "cache"
    env = {**s3, "PRIMER_CACHE": str(cache)}
    monkeypatch.setenv("PRIMER_CACHE", str(cache))
    local = tmp_path / "local"
    files = [a for f in DEMO_FILES for a in ("-i", str(DEMO / f))]
    r = _primer(["run", *files, "-o", str(local), "--set", "ray.mode=local"], env)
    assert r.returncode == 0, r.stderr[-3000:]

    args = ["run", "-i", "s3://crawl/demo/*", "-o", "s3://corpora/demo/", "--set", "ray.mode=local"]
    r = _primer(args, env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "committed" in r.stdout

    store, _ = filesystem("s3://corpora/demo")
    commit = get("s3://corpora/demo/_PRIMER_COMMIT.json")
    parts = sorted(p.name for p in (local / "corpus").glob("part-*.jsonl.zst"))
    assert parts
    staged = str(cache / "inputs" / "s3" / "crawl" / "demo")
    for name in parts:
        ours = _text(get(f"s3://corpora/demo/corpus/{name}"))
        # Same documents, decisions and metadata; source_file names the staged copy.
        assert ours == _text((local / "corpus" / name).read_bytes()).replace(str(DEMO), staged)

    # A rerun from an empty staging dir pulls the committed state and has nothing to do.
    import shutil

    from pipelines.remote import output_stage

    shutil.rmtree(output_stage("s3://corpora/demo/"))
    r = _primer(args, env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "up to date" in r.stdout + r.stderr
    for name in parts:
        assert _text(get(f"s3://corpora/demo/corpus/{name}")).count("\n") > 0
    assert get("s3://corpora/demo/_PRIMER_COMMIT.json") != commit  # the ledger's runs grew

    q = "SELECT count(*) FILTER (kept), count(*) FROM documents"
    r = _primer(["sql", "s3://corpora/demo/", q, "--format", "csv"], env)
    assert r.returncode == 0, r.stderr[-3000:]
    r_local = _primer(["sql", str(local), q, "--format", "csv"], env)
    assert r.stdout == r_local.stdout


def test_push_commits_last_and_pull_restores(s3, tmp_path):
    from pipelines import remote

    mkbucket("commits")
    uri = "s3://commits/run"
    src = tmp_path / "src"
    (src / "work" / "done").mkdir(parents=True)
    (src / "work" / "done" / "a.json").write_text('{"n": 1}')
    (src / "old.txt").write_text("old")
    (src / "x.tmp").write_text("half-written")
    assert remote.read_commit(uri) is None
    assert remote.push(src, uri) == 2
    assert set(json.loads(get(f"{uri}/{remote.COMMIT}"))["files"]) == {
        "work/done/a.json",
        "old.txt",
    }
    (src / "old.txt").unlink()
    (src / "new.txt").write_text("new")
    assert remote.push(src, uri) == 1  # only the new file; the marker is unchanged
    store, key = filesystem(uri)
    with pytest.raises(FileNotFoundError):
        store.open_input_stream(f"{key}/old.txt").read()  # what the commit dropped is gone

    dest = tmp_path / "dest"
    assert remote.pull(uri, dest) == 2
    assert (dest / "work" / "done" / "a.json").read_text() == '{"n": 1}'
    assert (dest / "new.txt").stat().st_mtime_ns == (src / "new.txt").stat().st_mtime_ns
    assert not (dest / "x.tmp").exists()
    assert remote.pull(uri, dest) == 0  # up to date: nothing fetched
