"""Code readers: Stack-style rows, single source files, repository walks."""

from __future__ import annotations

import json
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers.base import Record, Reject
from corpus.readers.code import (
    CodeFields,
    language_of,
    read_source,
    read_stack,
    repo_info,
    walk_sources,
)

ROW = {
    "content": "def f(x):\n    return x + 1\n",
    "max_stars_repo_name": "octo/demo",
    "max_stars_repo_path": "pkg/f.py",
    "lang": "Python",
    "license": "mit",
}


def test_stack_jsonl_maps_fields_and_rejects_bad_rows(tmp_path):
    p = tmp_path / "stack.jsonl"
    p.write_text(json.dumps(ROW) + "\n{not json\n" + json.dumps({"path": "x.py"}) + "\n")
    out = list(read_stack(p))
    rec = out[0]
    assert isinstance(rec, Record)
    assert rec.text == ROW["content"] and rec.id == "octo/demo/pkg/f.py"
    assert rec.metadata["repo"] == "octo/demo" and rec.metadata["path"] == "pkg/f.py"
    assert rec.metadata["lang"] == "Python" and rec.metadata["license"] == "mit"
    assert "content" not in rec.metadata
    assert isinstance(out[1], Reject) and out[1].error.startswith("invalid-json")
    assert isinstance(out[2], Reject) and out[2].error.startswith("missing-text")


def test_stack_parquet_with_custom_fields(tmp_path):
    p = tmp_path / "stack.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"code": "import os\n", "repository": "a/b", "file": "m.py"}]), p
    )
    fields = CodeFields(text=("code",), repo=("repository",), path=("file",))
    (rec,) = list(read_stack(p, fields))
    assert rec.text == "import os\n" and rec.metadata["repo"] == "a/b"
    assert rec.metadata["lang"] == "python"  # from the extension
    (rej,) = list(read_stack(p))  # default fields: no content/text column
    assert isinstance(rej, Reject) and rej.error.startswith("missing-text")


def test_language_by_extension_and_shebang():
    assert language_of("a/b.py") == "python"
    assert language_of("tool", "#!/usr/bin/env python3\nprint(1)\n") == "python"
    assert language_of("run", "#!/bin/bash\necho hi\n") == "shell"
    assert language_of("README", "hello") is None


def _git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "build").mkdir()
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / "src" / "gen.py").write_text("x = 1\n")
    (root / "node_modules" / "dep" / "x.py").write_text("y = 2\n")
    (root / "secret.py").write_text("z = 3\n")
    (root / "blob.py").write_bytes(b"\x00\x01binary")
    (root / "notes.txt").write_text("text\n")
    (root / ".gitignore").write_text("secret.py\nsrc/gen.py\n")
    return root


def test_walk_honours_gitignore_without_git(repo):
    names = [p.relative_to(repo).as_posix() for p in walk_sources(repo)]
    assert names == ["blob.py", "src/main.py"]


def test_walk_and_read_in_a_git_work_tree(repo):
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    _git(repo, "remote", "add", "origin", "https://example.com/octo/proj.git")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "init")
    repo_info.cache_clear()
    names = [p.relative_to(repo).as_posix() for p in walk_sources(repo)]
    assert names == ["blob.py", "src/main.py"]
    (rec,) = list(read_source(repo / "src" / "main.py"))
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert rec.metadata == {
        "lang": "python",
        "repo": "octo/proj",
        "path": "src/main.py",
        "commit": head,
    }
    (rej,) = list(read_source(repo / "blob.py"))
    assert isinstance(rej, Reject) and rej.error == "binary-file"


def test_read_source_rejects_non_utf8(tmp_path):
    p = tmp_path / "latin.py"
    p.write_bytes("s = 'caf\xe9'\n".encode("latin-1"))
    (rej,) = list(read_source(p))
    assert isinstance(rej, Reject) and rej.error.startswith("invalid-utf8")
