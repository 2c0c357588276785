"""Finding input files and picking the reader for each.

``expand_inputs`` turns what a user typed (paths, globs, directories) into a
sorted, de-duplicated file list and fails early, with one line, on a pattern
that matches nothing or a file no reader knows: a typo should stop a run
before hours of work, not produce an empty corpus.
"""

from __future__ import annotations

import glob
import logging
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
) -> Iterator[Record | Reject]:
    """Records and Rejects of one input file, by its extension.

    ``text_field``/``id_field`` name the document's text and id in JSONL and
    Parquet rows (``content``, ``raw_content``...); WARC/WET have their own.
    """
    path = Path(path)
    fmt = input_format(path)
    if fmt == "warc":
        return warc.read(path, max_record_bytes=max_record_bytes, extractor=extractor)
    if fmt in ("jsonl", "parquet"):
        return reader_for(path)(
            path, max_record_bytes=max_record_bytes, text_field=text_field, id_field=id_field
        )
    return reader_for(path)(path, max_record_bytes=max_record_bytes)
