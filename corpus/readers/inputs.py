"""Finding input files and picking the reader for each.

``expand_inputs`` turns what a user typed (paths, globs, directories) into a
sorted, de-duplicated file list and fails early, with one line, on a pattern
that matches nothing or a file no reader knows: a typo should stop a run
before hours of work, not produce an empty corpus.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from corpus.extract import DEFAULT_EXTRACTOR
from corpus.readers import code, jsonl, parquet, warc, wet
from corpus.readers.base import Record, Reject
from corpus.readers.jsonl import MAX_RECORD_BYTES

# Checked in order: WET names also end in .warc.gz-like suffixes, so they come first.
_FORMATS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((".warc.wet.gz", ".wet.gz", ".wet"), "wet"),
    ((".warc.gz", ".warc"), "warc"),
    (
        tuple(
            f"{ext}{comp}" for ext in (".jsonl", ".json", ".ndjson") for comp in ("", ".gz", ".zst")
        ),
        "jsonl",
    ),
    ((".parquet",), "parquet"),
    (tuple(code.LANGUAGES), "source"),  # one source file = one document (code profile)
)
SUPPORTED = ", ".join(ext for exts, _ in _FORMATS for ext in exts)
SUPPORTED_SHORT = ".jsonl/.json/.ndjson[.gz|.zst], .parquet, .warc[.gz], .wet[.gz]"
log = logging.getLogger("primer.inputs")


class InputError(ValueError):
    """An input pattern that cannot be read; the message is one line for the user."""


def input_format(path: Path | str) -> str | None:
    """``"wet"``, ``"warc"``, ``"jsonl"``, ``"parquet"`` from the file name, else None."""
    name = Path(path).name.lower()
    for extensions, fmt in _FORMATS:
        if name.endswith(extensions):
            return fmt
    return None


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _readable_data(paths: list[Path], source_taken: bool = False) -> list[Path]:
    # Inside directories and globs, unknown files (_SUCCESS, .crc, README) are
    # skipped; hidden and underscore files are bookkeeping, not data. Each
    # skipped file is a printed line, so a typo'd extension is never silent.
    # Source files are left to the code walker when the run reads source.
    readable = []
    for p in sorted(paths):
        if not p.is_file():
            continue
        fmt = input_format(p)
        if p.name.startswith((".", "_")):
            log.warning("skipped input file %s: hidden or bookkeeping file", p)
        elif fmt is None or (fmt == "source" and not source_taken):
            log.warning("skipped input file %s: not a supported type (%s)", p, SUPPORTED_SHORT)
        elif fmt != "source":
            readable.append(p)
    return readable


def expand_inputs(patterns: list[str], source_languages: list[str] | None = None) -> list[Path]:
    """Files named by ``patterns`` (paths, globs with ``**``, directories read recursively).

    ``source_languages``: also take source files of these languages, from globs and
    from directories (walked with ``.gitignore`` honoured, vendored folders skipped);
    None keeps them unreadable, as for web-only runs.
    """
    found: dict[Path, Path] = {}

    def _readable(paths: list[Path]) -> list[Path]:
        out = _readable_data(paths, source_languages is not None)
        if source_languages is not None:
            exts = {e for e, lang in code.LANGUAGES.items() if lang in source_languages}
            out += [
                p
                for p in paths
                if p.is_file()
                and p.suffix.lower() in exts
                and not code.VENDORED.intersection(p.parts[:-1])
            ]
        return out

    def _dir_files(d: Path) -> list[Path]:
        files = _readable_data(list(d.rglob("*")), source_languages is not None)
        if source_languages is not None:
            files += code.walk_sources(d, source_languages)
        return files

    for pattern in patterns:
        path = Path(pattern).expanduser()
        if _is_glob(pattern):
            matches = [Path(m) for m in glob.glob(str(path), recursive=True)]
            files = _readable([m for m in matches if m.is_file()])
            for d in (m for m in matches if m.is_dir()):
                files += _dir_files(d)
            if not files:
                raise InputError(f"{pattern}: matches no readable file (supported: {SUPPORTED})")
        elif path.is_dir():
            files = _dir_files(path)
            if not files:
                raise InputError(
                    f"{pattern}: directory holds no readable file (supported: {SUPPORTED})"
                )
        elif path.is_file():
            if input_format(path) is None or (
                input_format(path) == "source" and source_languages is None
            ):
                raise InputError(f"{pattern}: unknown file type (supported: {SUPPORTED})")
            files = [path]
        else:
            raise InputError(f"{pattern}: no such file or directory")
        for f in files:
            found.setdefault(f.resolve(), f)
    return sorted(found.values(), key=str)


# --- object storage (s3://...) ----------------------------------------------------------

REMOTE_SCHEMES = ("s3://", "gs://")


def is_remote(uri: str | Path) -> bool:
    return isinstance(uri, str) and uri.startswith(REMOTE_SCHEMES)


def filesystem(uri: str):
    """``(pyarrow FileSystem, path without scheme)`` for an object-store URI.

    S3 credentials come from the usual variables (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, a profile or the
    instance role); ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` point at a
    non-AWS store (MinIO, Ceph, R2, a test server).
    """
    from pyarrow import fs

    if uri.startswith("s3://"):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        kwargs: dict = {}
        if endpoint:
            scheme, _, host = endpoint.rpartition("://")
            kwargs = {"endpoint_override": host or endpoint, "scheme": scheme or "https"}
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region"] = region
        return fs.S3FileSystem(**kwargs), uri[len("s3://") :]
    filesystem_, path = fs.FileSystem.from_uri(uri)
    return filesystem_, path


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Glob semantics on object keys: ``*`` and ``?`` stay within one path segment, ``**``
    crosses them (as ``glob(recursive=True)`` does locally)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def expand_remote(pattern: str) -> list[str]:
    """Object URIs named by ``pattern``: one object, a glob, or a prefix (read recursively),
    keeping only readable data files; fails like ``expand_inputs`` on no match."""
    try:
        return _expand_remote(pattern)
    except OSError as e:  # no credentials, no bucket, store unreachable: one line
        raise InputError(f"{pattern}: {str(e).splitlines()[0]}") from e


def _expand_remote(pattern: str) -> list[str]:
    from pyarrow import fs

    store, path = filesystem(pattern)
    scheme = pattern[: pattern.index("://") + 3]
    if _is_glob(path):
        base = path[: min(path.index(c) for c in "*?[" if c in path)].rpartition("/")[0]
        regex = _glob_regex(path)
        infos = store.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
        keys = [i.path for i in infos if i.type == fs.FileType.File and regex.match(i.path)]
    else:
        info = store.get_file_info(path.rstrip("/"))
        if info.type == fs.FileType.File:
            keys = [info.path]
        elif info.type == fs.FileType.Directory:
            sel = fs.FileSelector(path.rstrip("/"), recursive=True)
            keys = [i.path for i in store.get_file_info(sel) if i.type == fs.FileType.File]
        else:
            raise InputError(f"{pattern}: no such object or prefix")
    readable = []
    for key in sorted(keys):
        name = key.rpartition("/")[2]
        fmt = input_format(name)
        if name.startswith((".", "_")) or fmt in (None, "source"):
            log.warning("skipped input object %s%s: not a supported data file", scheme, key)
        else:
            readable.append(scheme + key)
    if not readable:
        raise InputError(f"{pattern}: matches no readable object (supported: {SUPPORTED_SHORT})")
    return readable


def reader_for(path: Path | str) -> Callable[..., Iterator[Record | Reject]]:
    fmt = input_format(path)
    if fmt is None:
        raise InputError(f"{path}: unknown file type (supported: {SUPPORTED})")
    return {
        "wet": wet.read,
        "warc": warc.read,
        "jsonl": jsonl.read,
        "parquet": parquet.read,
        "source": code.read_source,
    }[fmt]


def read_path(
    path: Path | str,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
    extractor: str = DEFAULT_EXTRACTOR,
    text_field: str = "text",
    id_field: str = "id",
    keep: Callable[[int], bool] | None = None,
) -> Iterator[Record | Reject]:
    """Records and Rejects of one input file, by its extension.

    ``text_field``/``id_field`` name the document's text and id in JSONL and
    Parquet rows (``content``, ``raw_content``...); WARC/WET have their own.
    ``keep(position)``: only the records at these positions (one part of a split file,
    ``pipelines.parts``); the reader skips the others' parsing and extraction.
    """
    path = Path(path)
    fmt = input_format(path)
    if fmt == "warc":
        return warc.read(path, max_record_bytes=max_record_bytes, extractor=extractor, keep=keep)
    if fmt in ("jsonl", "parquet"):
        return reader_for(path)(
            path,
            max_record_bytes=max_record_bytes,
            text_field=text_field,
            id_field=id_field,
            keep=keep,
        )
    if fmt == "wet":
        return wet.read(path, max_record_bytes=max_record_bytes, keep=keep)
    items = reader_for(path)(path, max_record_bytes=max_record_bytes)
    return items if keep is None else (i for i in items if keep(i.position))
