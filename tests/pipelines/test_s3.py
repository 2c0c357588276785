"""``s3://`` inputs and outputs against a real S3 API (moto's server on 127.0.0.1)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from corpus.readers.inputs import InputError, expand_remote, filesystem
from tests.pipelines import s3server
from tests.pipelines.raycluster import REPO, node_env
from tests.pipelines.s3server import get, mkbucket, put

DEMO = REPO / "pipelines" / "demo_data"
DEMO_FILES = ("python-docs.warc.gz", "site-packages.jsonl.zst")  # the web demo (make demo)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server (subprocess, stopped by pid); yields the env that points at it."""
    if not s3server.MOTO.exists():
        pytest.skip("moto[server] is not installed")
    with s3server.moto_server(tmp_path_factory.mktemp("moto")) as env:
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
    for name in parts:
        ours = _text(get(f"s3://corpora/demo/corpus/{name}"))
        # Same documents, decisions and metadata; source_file names the object.
        expected = _text((local / "corpus" / name).read_bytes())
        assert ours == expected.replace(str(DEMO), "s3://crawl/demo")

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

    # stats, report and select read an s3:// output like a local one.
    r, r_local = _primer(["stats", "s3://corpora/demo/"], env), _primer(["stats", str(local)], env)
    assert r.returncode == 0 and r.stdout == r_local.stdout, r.stderr[-3000:]
    r = _primer(["report", "s3://corpora/demo/", "-o", str(tmp_path / "r.html")], env)
    assert r.returncode == 0 and (tmp_path / "r.html").stat().st_size > 10_000, r.stderr[-3000:]
    sel = ["select", "s3://corpora/demo/", "--min-edu", "3", "-o", str(tmp_path / "sel")]
    r = _primer(sel, env)
    assert r.returncode == 0 and "selected" in r.stdout, r.stderr[-3000:]


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


def test_worker_without_the_drivers_filesystem_uploads_its_shard(s3, tmp_path, monkeypatch):
    """An ingest task on a node that sees neither the driver's staged input nor its
    output dir: it fetches the object into its own cache, writes its own staging dir,
    uploads the shard (marker last), and the driver fetches exactly those files."""
    import shutil

    from pipelines import remote
    from pipelines.config import load_config
    from pipelines.layout import Layout, shard_key
    from pipelines.parts import Part
    from pipelines.pipeline import _IngestTask

    put("s3://crawl/node/site.jsonl.zst", (DEMO / "site-packages.jsonl.zst").read_bytes())
    mkbucket("corpora")
    uri = "s3://corpora/node"
    monkeypatch.setenv("PRIMER_CACHE", str(tmp_path / "driver"))
    (staged,) = remote.stage_inputs(["s3://crawl/node/*"])
    driver = Layout(remote.output_stage(uri))
    key = shard_key(Path(staged))
    config = load_config(None, ["ray.mode=local"], inputs=(staged,), output=str(driver.out))
    task = _IngestTask(str(driver.out), config.model_dump_json(), uri)
    item = {**Part(Path(staged)).item(), "uri": remote.input_uri(staged)}
    assert item["uri"] == "s3://crawl/node/site.jsonl.zst"

    hidden = tmp_path / "driver-hidden"  # the worker node cannot see the driver's disk
    (tmp_path / "driver").rename(hidden)
    monkeypatch.setenv("PRIMER_CACHE", str(tmp_path / "worker"))
    summary = task(item)
    worker = Layout(remote.output_stage(uri))
    assert summary["key"] == key  # the shard key comes from the object URI, not the cache
    assert summary["path"] == item["uri"]
    assert (tmp_path / "worker" / "inputs" / "s3" / "crawl" / "node" / "site.jsonl.zst").is_file()
    assert worker.marker(key).is_file() and not (tmp_path / "driver").exists()
    assert all(rel.startswith("work/") for rel in summary["files"])
    assert list(summary["files"])[-2:] == [f"work/uploads/{key}.json", f"work/done/{key}.json"]

    shutil.rmtree(tmp_path / "driver", ignore_errors=True)
    hidden.rename(tmp_path / "driver")
    monkeypatch.setenv("PRIMER_CACHE", str(tmp_path / "driver"))
    assert not driver.marker(key).exists()
    assert remote.fetch(uri, driver.out, summary["files"]) == len(summary["files"])
    for rel in summary["files"]:
        assert (driver.out / rel).read_bytes() == (worker.out / rel).read_bytes()
    assert driver.is_done(Path(staged))
    assert remote.fetch(uri, driver.out, summary["files"]) == 0  # already here

    # A driver killed before committing: the next one fetches the uploaded shard instead
    # of redoing it (listed by the worker's manifest, marker last).
    assert remote.read_commit(uri) is None
    again = Layout(tmp_path / "resumed")
    assert remote.pull_uploaded(uri, again.out) == 1
    assert again.is_done(Path(staged))
    for rel in summary["files"]:
        assert (again.out / rel).read_bytes() == (worker.out / rel).read_bytes()
    assert remote.pull_uploaded(uri, again.out) == 0
