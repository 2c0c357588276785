"""Object-storage inputs and outputs (``s3://``), by local staging.

The pipeline itself works on local paths. ``primer run`` with an object-store URI:

* inputs: each object is copied once (through ``pyarrow.fs``) into
  ``CACHE/inputs/<scheme>/<bucket>/<key>``, keeping the object's size and mtime, and
  an unchanged object is not fetched again. The shard key and ``source_file`` come
  from the object's URI, so a worker node without the driver's filesystem fetches
  the object into its own cache and produces the same documents;
* ingest on a cluster: each worker uploads its shard's work files to the output
  prefix, its done marker last, and the driver downloads what it lacks before the
  global steps (which read local files); nothing needs a shared filesystem;
* output: the run goes to ``CACHE/outputs/<hash of the URI>/`` and is then committed:
  changed files are uploaded, and ``_PRIMER_COMMIT.json`` (every file with its size and
  mtime) is written last. A rerun first pulls what the commit lists (markers, work
  state, corpus, ledger), so "rerun is a no-op" and resume hold on object storage;
  files the new commit no longer lists are deleted after it is written. Readers trust
  only files the commit lists (a crash mid-upload leaves the old commit in place).

DuckDB cannot write a database file to S3: the ledger is built locally and uploaded,
and ``primer sql s3://...`` downloads it first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from corpus.readers.inputs import expand_remote, filesystem, is_remote

COMMIT = "_PRIMER_COMMIT.json"
_CHUNK = 8 << 20


def cache_root() -> Path:
    return Path(os.environ.get("PRIMER_CACHE") or Path.home() / ".cache" / "primer")


def output_stage(uri: str) -> Path:
    """The local staging dir of an object-store output, stable per URI."""
    uri = uri.rstrip("/")
    name = uri.rpartition("/")[2] or "out"
    return cache_root() / "outputs" / f"{name}-{hashlib.sha1(uri.encode()).hexdigest()[:12]}"


def _copy_down(store, key: str, dest: Path, mtime_ns: int | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with store.open_input_stream(key) as src, tmp.open("wb") as out:
        while chunk := src.read(_CHUNK):
            out.write(chunk)
    if mtime_ns is not None:
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    os.replace(tmp, dest)


def stage_input(uri: str) -> Path:
    """The local copy of one input object (fetched unless an identical copy is there)."""
    store, key = filesystem(uri)
    info = store.get_file_info(key)
    scheme = uri.partition("://")[0]
    dest = cache_root() / "inputs" / scheme / key
    mtime_ns = info.mtime_ns
    if (
        dest.is_file()
        and dest.stat().st_size == info.size
        and (mtime_ns is None or dest.stat().st_mtime_ns == mtime_ns)
    ):
        return dest
    _copy_down(store, key, dest, mtime_ns)
    return dest


def input_uri(path: Path | str) -> str | None:
    """The object URI a staged input copy stands for (``None`` for a plain local file):
    shard keys and ``source_file`` use it, so they are the same on every node whatever
    its cache path."""
    try:
        rel = Path(path).resolve().relative_to((cache_root() / "inputs").resolve())
    except ValueError:
        return None
    scheme, _, key = rel.as_posix().partition("/")
    return f"{scheme}://{key}" if key else None


def local_input(path: str, uri: str | None) -> Path:
    """This node's copy of one input: the object in this node's cache (fetched unless
    an identical copy is there, as on the driver's node), or ``path`` if not an object."""
    return stage_input(uri) if uri else Path(path)


def upload(local: Path, uri: str, rels: list[str]) -> None:
    """Upload ``rels`` (relative to ``local``) in order; callers put their marker last."""
    store, prefix = filesystem(uri.rstrip("/"))
    for rel in rels:
        with (local / rel).open("rb") as src, store.open_output_stream(f"{prefix}/{rel}") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)


def upload_shard(local: Path, uri: str, rels: list[str], marker: str) -> dict[str, int]:
    """A worker's shard: its files, then ``work/uploads/<key>.json`` (the files and their
    sizes, so a later driver fetches exactly these and no stale batch of an earlier
    attempt), then the done ``marker``. Returns every uploaded file with its size."""
    key = Path(marker).stem
    manifest = f"work/uploads/{key}.json"
    files = {r: (local / r).stat().st_size for r in rels}
    (local / manifest).parent.mkdir(parents=True, exist_ok=True)
    (local / manifest).write_text(json.dumps(files, sort_keys=True))
    upload(local, uri, [*rels, manifest, marker])
    return {
        **files,
        manifest: (local / manifest).stat().st_size,
        marker: (local / marker).stat().st_size,
    }


def pull_uploaded(uri: str, local: Path) -> int:
    """Fetch the shards workers finished and uploaded but no commit lists (the driver
    was killed before committing), so a resumed run does not redo them. Returns how
    many shards were fetched."""
    from pyarrow import fs as pafs

    store, prefix = filesystem(uri.rstrip("/"))
    try:
        infos = store.get_file_info(pafs.FileSelector(f"{prefix}/work/done", allow_not_found=True))
    except FileNotFoundError:
        return 0
    n = 0
    for info in infos:
        key = info.base_name.removesuffix(".json")
        marker = f"work/done/{key}.json"
        if not info.base_name.endswith(".json") or (local / marker).is_file():
            continue
        manifest = f"work/uploads/{key}.json"
        try:
            with store.open_input_stream(f"{prefix}/{manifest}") as f:
                data = f.read()
        except FileNotFoundError:  # a marker without a manifest: not ours to trust
            continue
        fetch(uri, local, {**json.loads(data), manifest: len(data)})
        fetch(uri, local, {marker: info.size})  # last: the shard counts as done from here
        n += 1
    return n


def fetch(uri: str, local: Path, files: dict[str, int]) -> int:
    """Download the uploaded (not yet committed) ``files`` (relative path -> size) that
    ``local`` lacks: the driver collecting what workers on other nodes wrote."""
    store, prefix = filesystem(uri.rstrip("/"))
    n = 0
    for rel, size in sorted(files.items()):
        dest = local / rel
        if dest.is_file() and dest.stat().st_size == size:
            continue  # the worker ran on this node and wrote here
        _copy_down(store, f"{prefix}/{rel}", dest, None)
        n += 1
    return n


def stage_inputs(patterns: list[str]) -> list[str]:
    """``patterns`` with every object-store pattern replaced by its staged local files."""
    out: list[str] = []
    for pattern in patterns:
        if is_remote(pattern):
            out += [str(stage_input(uri)) for uri in expand_remote(pattern)]
        else:
            out.append(pattern)
    return out


def read_commit(uri: str) -> dict[str, Any] | None:
    store, prefix = filesystem(uri.rstrip("/"))
    try:
        with store.open_input_stream(f"{prefix}/{COMMIT}") as f:
            return json.loads(f.read())
    except FileNotFoundError:  # nothing committed yet (other errors: the store's own)
        return None


def pull(uri: str, local: Path, only: list[str] | None = None) -> int:
    """Download the committed files of ``uri`` that ``local`` lacks or holds in another
    version; ``only``: just these relative paths. Returns the number fetched."""
    commit = read_commit(uri)
    if commit is None:
        return 0
    store, prefix = filesystem(uri.rstrip("/"))
    n = 0
    for rel, meta in sorted(commit["files"].items()):
        if only is not None and rel not in only:
            continue
        dest = local / rel
        if dest.is_file():
            st = dest.stat()
            if (st.st_size, st.st_mtime_ns) == (meta["size"], meta["mtime_ns"]):
                continue
        _copy_down(store, f"{prefix}/{rel}", dest, meta["mtime_ns"])
        n += 1
    return n


def _local_files(local: Path) -> dict[str, dict[str, int]]:
    files = {}
    for p in sorted(local.rglob("*")):
        if p.is_file() and not p.name.endswith(".tmp") and p.name != COMMIT:
            st = p.stat()
            files[p.relative_to(local).as_posix()] = {
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
            }
    return files


def push(local: Path, uri: str, uploaded: dict[str, int] | None = None) -> int:
    """Commit ``local`` to ``uri``: upload changed files, write the commit marker last,
    then delete what the old commit listed and the new one does not. ``uploaded``:
    files the workers already put there (relative path -> size). Returns uploads."""
    store, prefix = filesystem(uri.rstrip("/"))
    old = (read_commit(uri) or {}).get("files", {})
    uploaded = uploaded or {}
    files = _local_files(local)
    n = 0
    for rel, meta in files.items():
        if old.get(rel) == meta or uploaded.get(rel) == meta["size"]:
            continue
        with (local / rel).open("rb") as src, store.open_output_stream(f"{prefix}/{rel}") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
        n += 1
    commit = {"committed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
    with store.open_output_stream(f"{prefix}/{COMMIT}") as out:
        out.write(json.dumps(commit, indent=1, sort_keys=True).encode())
    for rel in sorted(set(old) - set(files)):
        with contextlib.suppress(FileNotFoundError):
            store.delete_file(f"{prefix}/{rel}")
    return n


def ledger_dir(out: str, everything: bool = False) -> str:
    """A local directory holding ``out``'s ledger: ``out`` itself, or for an object-store
    output its staging dir with the committed ``corpus.duckdb`` pulled (``everything``:
    every committed file, for commands that read the corpus or work files too)."""
    if not is_remote(out):
        return out
    local = output_stage(out)
    if read_commit(out) is None:
        raise FileNotFoundError(f"{out}: no {COMMIT} (not a finished primer output)")
    pull(out, local, only=None if everything else ["corpus.duckdb"])
    return str(local)
