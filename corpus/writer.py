"""JSONL writers: one file, or rolling ``part-NNNNN.jsonl.zst`` shards. Writes are atomic.

Output records follow the convention datatrove, Dolma and Hugging Face
``datasets`` read: ``{"id", "text", "metadata": {...}}`` one per line.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import Any

import zstandard

ZSTD_LEVEL = 3  # zstd's default: ~400 MB/s compress on one core, close to level 9's ratio on text


def _open_sink(tmp: Path, final: Path):
    """Binary sink writing ``tmp``, compressed by ``final``'s suffix."""
    raw = open(tmp, "wb")  # noqa: SIM115 - closed by the caller through the wrapper
    if final.name.endswith(".zst"):
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw, closefd=True)
    if final.name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0), raw
    return raw


class JsonlWriter:
    """Writes JSON lines to ``path`` (``.jsonl``, ``.jsonl.gz`` or ``.jsonl.zst``).

    The data goes to ``<path>.tmp`` and is renamed onto ``path`` only by a
    clean ``close()``; an exception or a killed process leaves ``path`` untouched.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        sink = _open_sink(self.tmp, self.path)
        self._extra = None
        if isinstance(sink, tuple):
            sink, self._extra = sink
        self._sink = sink
        self._buf = io.TextIOWrapper(sink, encoding="utf-8", write_through=False)
        self.n_records = 0
        self.n_bytes = 0

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._buf.write(line)
        self.n_records += 1
        self.n_bytes += len(line)

    def close(self) -> None:
        self._buf.flush()
        self._buf.close()  # closes the compressor, which closes the file
        if self._extra is not None:
            self._extra.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._buf.close()
            if self._extra is not None:
                self._extra.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class ShardedWriter:
    """Rolls ``{prefix}-NNNNN.jsonl.zst`` files of at most ``max_docs`` records / ``max_bytes``."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_docs: int = 100_000,
        max_bytes: int = 512 * 2**20,
        prefix: str = "part",
    ):
        self.directory = Path(directory)
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.parts: list[dict[str, Any]] = []  # {"path", "n_records", "n_bytes"} per finished part
        self._current: JsonlWriter | None = None

    def write(self, record: dict[str, Any]) -> str:
        """Write one record; return the shard file name it went to."""
        cur = self._current
        if cur is None or cur.n_records >= self.max_docs or cur.n_bytes >= self.max_bytes:
            self._finish()
            name = f"{self.prefix}-{len(self.parts):05d}.jsonl.zst"
            cur = self._current = JsonlWriter(self.directory / name)
        cur.write(record)
        return cur.path.name

    def _finish(self) -> None:
        if self._current is not None:
            self._current.close()
            cur = self._current
            self.parts.append(
                {"path": str(cur.path), "n_records": cur.n_records, "n_bytes": cur.n_bytes}
            )
            self._current = None

    def close(self) -> list[dict[str, Any]]:
        self._finish()
        return self.parts

    def abort(self) -> None:
        if self._current is not None:
            self._current.abort()
            self._current = None

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
