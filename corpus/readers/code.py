"""Source-code readers: The Stack-style rows, single source files, and repository walks.

- ``read_stack(path, fields)``: JSONL or Parquet rows whose text sits in a
  ``content`` column (The Stack, StarCoderData); ``CodeFields`` says which
  column holds text, repository, path, language and commit (first present wins).
  Rows go through the shared JSONL/Parquet rules (``record_from_mapping``), so
  bad rows are the same rejects as elsewhere.
- ``read_source(path)``: one source file -> one Record with ``repo``, ``path``
  (inside the repository), ``commit`` (when in a git work tree) and ``lang``.
  Binary or non-UTF-8 files are one reject, not a garbled Record.
- ``walk_sources(root)``: the source files of a directory, honouring
  ``.gitignore`` (``git ls-files`` in a work tree, else ``pathspec`` over every
  ``.gitignore`` met) and skipping vendored and virtual-env folders.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from corpus.readers.base import Record, Reject
from corpus.readers.jsonl import (
    _DECOMPRESSION_ERRORS,
    MAX_RECORD_BYTES,
    compression,
    iter_lines,
    open_binary,
    record_from_mapping,
)

# extension -> language (The Stack's names, lower case)
LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyx": "cython",
    ".js": "javascript",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "c++",
    ".cpp": "c++",
    ".hpp": "c++",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".php": "php",
    ".sh": "shell",
    ".bash": "shell",
    ".jl": "julia",
    ".r": "r",
    ".scala": "scala",
    ".kt": "kotlin",
    ".swift": "swift",
    ".lua": "lua",
    ".sql": "sql",
}
SHEBANGS = {"python": "python", "bash": "shell", "sh": "shell", "node": "javascript"}
# Folders that hold someone else's code or build output, never the repository's own.
VENDORED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "vendored",
        "third_party",
        "third-party",
        ".venv",
        "venv",
        "env",
        "site-packages",
        "dist-packages",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        "build",
        "dist",
        ".eggs",
    }
)
MAX_SOURCE_BYTES = 1 << 20  # The Stack dropped files over 1 MB


@dataclass(frozen=True)
class CodeFields:
    """Which input column holds what; the first name present in a row wins."""

    text: Sequence[str] = ("content", "text")
    repo: Sequence[str] = ("repo", "max_stars_repo_name", "repo_name", "repository")
    path: Sequence[str] = ("path", "max_stars_repo_path", "file_path")
    lang: Sequence[str] = ("lang", "language")
    commit: Sequence[str] = ("commit", "max_stars_repo_head_hexsha", "hexsha")
    extra: Sequence[str] = field(default=())  # further columns to keep in metadata (all: empty)


def language_of(path: str | Path, text: str = "") -> str | None:
    """Language by extension, else by a ``#!`` line (``#!/usr/bin/env python3``)."""
    lang = LANGUAGES.get(Path(path).suffix.lower())
    if lang or not text.startswith("#!"):
        return lang
    words = text[:200].splitlines()[0][2:].split()
    prog = Path(words[-1] if words and words[0].endswith("env") else (words or [""])[0]).name
    return next((v for k, v in SHEBANGS.items() if prog.startswith(k)), None)


def _first(row: dict[str, Any], names: Sequence[str]) -> Any:
    return next((row[n] for n in names if row.get(n) not in (None, "")), None)


def stack_mapping(row: dict[str, Any], fields: CodeFields) -> dict[str, Any]:
    """A Stack-style row -> the shared record shape (``text`` + code metadata)."""
    out = {k: v for k, v in row.items() if not fields.extra or k in fields.extra or k == "id"}
    text_col = next((n for n in fields.text if isinstance(row.get(n), str | bytes)), None)
    for col in fields.text:
        out.pop(col, None)
    out["text"] = row.get(text_col) if text_col else None
    for key in ("repo", "path", "lang", "commit"):
        value = _first(row, getattr(fields, key))
        for col in getattr(fields, key):
            out.pop(col, None)
        if value is not None:
            out[key] = value
    if "lang" not in out and isinstance(out.get("path"), str):
        out["lang"] = language_of(out["path"], out["text"] if isinstance(out["text"], str) else "")
    if "id" not in out and out.get("repo") and out.get("path"):
        out["id"] = f"{out['repo']}/{out['path']}"
    return out


def read_stack(
    path: Path,
    fields: CodeFields | None = None,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Record | Reject]:
    """Rows of a Stack-style JSONL (plain/.gz/.zst) or Parquet file."""
    import json

    fields = fields or CodeFields()
    path = Path(path)
    if path.name.lower().endswith(".parquet"):
        yield from _read_stack_parquet(path, fields, max_record_bytes)
        return
    position = 0
    with open_binary(path) as stream:
        lines = iter_lines(stream, max_record_bytes)
        while True:
            try:
                position, line, size = next(lines)
            except StopIteration:
                return
            except _DECOMPRESSION_ERRORS as exc:
                kind = compression(path) or "file"
                yield Reject(position, f"corrupt-{kind}: {type(exc).__name__}: {exc}")
                return
            if line is None:
                yield Reject(position, f"record-too-large: {size} bytes")
                continue
            try:
                obj = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield Reject(position, f"invalid-utf8: byte {line[exc.start]:#04x}")
                continue
            except json.JSONDecodeError as exc:
                if line.strip():
                    yield Reject(position, f"invalid-json: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield Reject(position, f"not-an-object: {type(obj).__name__}")
                continue
            yield record_from_mapping(stack_mapping(obj, fields), position, path.name)


def _read_stack_parquet(
    path: Path, fields: CodeFields, max_record_bytes: int
) -> Iterator[Record | Reject]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus.readers.parquet import BATCH_ROWS, _row_record

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        yield Reject(0, f"corrupt-parquet: {exc}")
        return
    with parquet:
        if not set(fields.text) & set(parquet.schema_arrow.names):
            yield Reject(0, f"missing-text: none of the columns {list(fields.text)}")
            return
        position = 0
        for group in range(parquet.num_row_groups):
            try:
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group]):
                    for row in batch.to_pylist():
                        yield _row_record(
                            stack_mapping(row, fields), position, path.name, max_record_bytes
                        )
                        position += 1
            except (pa.ArrowException, OSError) as exc:
                yield Reject(position, f"corrupt-parquet: row group {group}: {exc}")
            position = sum(parquet.metadata.row_group(g).num_rows for g in range(group + 1))


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


@lru_cache(maxsize=256)
def repo_info(directory: Path) -> tuple[Path, str, str | None] | None:
    """(work-tree root, repository name, HEAD commit) of the git work tree holding ``directory``."""
    top = _git(directory, "rev-parse", "--show-toplevel")
    if not top:
        return None
    root = Path(top.strip())
    remote = (_git(root, "config", "--get", "remote.origin.url") or "").strip()
    name = remote.removesuffix(".git").rstrip("/")
    if name:
        name = "/".join(name.replace(":", "/").split("/")[-2:])
    head = (_git(root, "rev-parse", "HEAD") or "").strip() or None
    return root, name or root.name, head


def is_binary(data: bytes) -> bool:
    """NUL bytes in the first 8 KiB: git's own test for a binary file."""
    return b"\0" in data[:8192]


def read_source(
    path: Path, *, max_record_bytes: int = MAX_SOURCE_BYTES, root: Path | None = None
) -> Iterator[Record | Reject]:
    """One source file as one Record (metadata: repo, path, commit, lang)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Reject(0, f"unreadable: {exc.strerror or exc}")
        return
    if len(data) > max_record_bytes:
        yield Reject(0, f"record-too-large: {len(data)} bytes")
        return
    if is_binary(data):
        yield Reject(0, "binary-file")
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Reject(0, f"invalid-utf8: byte {data[exc.start]:#04x} at offset {exc.start}")
        return
    info = repo_info(path.resolve().parent)
    meta: dict[str, Any] = {"lang": language_of(path, text)}
    if info is not None:
        top, name, head = info
        meta.update(repo=name, path=str(path.resolve().relative_to(top)), commit=head)
    else:
        base = (root or path.parent).resolve()
        meta.update(repo=base.name, path=str(path.resolve().relative_to(base)), commit=None)
    yield Record(
        id=f"{meta['repo']}/{meta['path']}", text=text, position=0, url=None, metadata=meta
    )


def _vendored(rel: Path) -> bool:
    return any(part in VENDORED or part.endswith(".egg-info") for part in rel.parts[:-1])


def walk_sources(root: Path | str, languages: Sequence[str] | None = ("python",)) -> list[Path]:
    """Source files under ``root`` (sorted), ``.gitignore`` honoured, vendored dirs skipped.

    ``languages``: keep files whose extension maps to one of these (None: every
    known language). Inside a git work tree the list is ``git ls-files`` (tracked
    plus untracked-but-not-ignored); elsewhere every ``.gitignore`` on the way is
    applied with ``pathspec`` (git's wildmatch rules).
    """
    root = Path(root)
    wanted = {e for e, lang in LANGUAGES.items() if languages is None or lang in languages}
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed is not None and repo_info(root.resolve()) is not None:
        files = [root / p for p in listed.split("\0") if p]
    else:
        files = list(_walk_ignoring(root))
    out = [
        f
        for f in files
        if f.suffix.lower() in wanted and f.is_file() and not _vendored(f.relative_to(root))
    ]
    return sorted(set(out), key=str)


def _walk_ignoring(root: Path) -> Iterator[Path]:
    import pathspec

    specs: list[tuple[Path, Any]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        ignore = here / ".gitignore"
        if ignore.is_file():
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
            specs.append((here, pathspec.PathSpec.from_lines("gitwildmatch", lines)))

        def ignored(p: Path, is_dir: bool) -> bool:
            for base, spec in specs:
                if base == p or base in p.parents:
                    rel = str(p.relative_to(base)) + ("/" if is_dir else "")
                    if spec.match_file(rel):
                        return True
            return False

        dirnames[:] = sorted(
            d for d in dirnames if d not in VENDORED and not ignored(here / d, True)
        )
        for name in sorted(filenames):
            if not ignored(here / name, False):
                yield here / name


def read_code(
    path: Path, fields: CodeFields | None = None, *, max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[Record | Reject]:
    """The code profile's reader: Stack-style rows for JSONL/Parquet, else one source file."""
    name = Path(path).name.lower()
    if name.endswith(".parquet") or any(
        name.endswith(f"{e}{c}")
        for e in (".jsonl", ".json", ".ndjson")
        for c in ("", ".gz", ".zst")
    ):
        return read_stack(path, fields, max_record_bytes=max_record_bytes)
    return read_source(path, max_record_bytes=min(max_record_bytes, MAX_SOURCE_BYTES))
