"""JSON Lines reader: ``.jsonl``/``.json``/``.ndjson``, plain, ``.gz`` or ``.zst``.

One JSON object per line (a ``.json`` file is read the same way: a pretty-printed
single document is a run of ``invalid-json`` rejects, not a silent success).

Choices, and why:

- Lines are read with ``readline(max_record_bytes + 1)``: a line over the limit
  is rejected and its remainder skipped in 1 MiB pieces, so a 50 MB line costs
  at most ``max_record_bytes`` of memory once and the lines after it still come.
- Invalid UTF-8 rejects the line (``invalid-utf8``) instead of decoding with
  replacement characters: JSON must be UTF-8 (RFC 8259), a line that is not
  came from a broken producer whose encoding is unknown (often Latin-1 for the
  whole line, so replacement would garble every accented letter), and a reject
  is counted in the ledger while U+FFFD noise would slip into training data.
- A corrupt or truncated gzip/zstd stream cannot be resynchronised: every line
  before the damage is yielded, then one ``corrupt-gzip``/``corrupt-zstd``
  reject, then the reader stops. gzip checks integrity only at the end of a
  member (CRC), so bytes garbled in the middle can first come out as a few
  garbage lines (usually rejects such as ``invalid-json``) before the reject.
- Empty ``text`` is a Record (the pipeline drops it with a reason); a missing or
  non-string ``text`` is a ``missing-text`` reject. ``text_field``/``id_field`` read
  sources that call them otherwise (``content``, ``raw_content``).
- A binary file with a JSONL name (NUL bytes or >10% control bytes in its first
  8 KiB) gives one ``binary-data`` reject per run of undecodable lines, not one
  per byte-line: a 100 kB random file is 1 row instead of ~390. JSON lines that
  parse in such a file still come out.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import zstandard

from corpus.readers.base import Record, Reject

MAX_RECORD_BYTES = 10 * 1024 * 1024  # one document larger than this is a reject, not a Record
_SKIP_CHUNK = 1 << 20
_DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError)


def compression(path: Path) -> str | None:
    """``"gzip"``, ``"zstd"`` or None, from the file name."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return "gzip"
    if name.endswith((".zst", ".zstd")):
        return "zstd"
    return None


def open_binary(path: Path) -> IO[bytes]:
    """A buffered, decompressing binary stream over ``path``."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed with the wrapper
    if kind == "zstd":
        return io.BufferedReader(ZstdReader(raw), buffer_size=1 << 16)
    return io.BufferedReader(raw, buffer_size=1 << 16)


class ZstdReader(io.RawIOBase):
    """Decompresses concatenated zstd frames and raises on a truncated one.

    zstandard's ``stream_reader`` reports a file cut inside a frame as a clean
    end of stream, which would silently lose the rest of the shard. A
    ``decompressobj`` fed 16 KiB at a time knows whether its frame ended; the
    small input steps keep each step's output to a few hundred KiB for text
    (a pathological ratio, like 50 MB of one repeated byte, still decompresses
    in one step).
    """

    def __init__(self, raw: IO[bytes], chunk: int = 1 << 14):
        self._raw, self._chunk = raw, chunk
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False  # bytes of the current frame were fed, its end not seen yet
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        out = []
        while not out:
            data = self._raw.read(self._chunk)
            if not data:
                if self._in_frame:
                    raise zstandard.ZstdError("truncated zstd frame: input ended inside a frame")
                return False
            while data:
                self._in_frame = True
                out.append(self._obj.decompress(data))
                if not self._obj.eof:
                    break
                data = self._obj.unused_data  # the next frame starts here
                self._obj = self._dctx.decompressobj()
                self._in_frame = False
            out = [o for o in out if o]
        self._pending = memoryview(b"".join(out))
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if not self._pending and not self._fill():
            return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def iter_lines(stream: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """``(position, line or None when over max_bytes, size in bytes)`` per line.

    Positions count every line, blank ones included, so they point at the file.
    Decompression errors propagate to the caller.
    """
    position = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        body = line.rstrip(b"\r\n")
        if len(body) > max_bytes:
            size = len(body)
            while not line.endswith(b"\n"):
                line = stream.readline(_SKIP_CHUNK)
                if not line:
                    break
                size += len(line.rstrip(b"\r\n"))
            yield position, None, size
        else:
            yield position, body, len(body)
        position += 1


def parse_line(
    line: bytes, position: int, file_name: str, text_field: str = "text", id_field: str = "id"
) -> Record | Reject | None:
    """One JSON line -> Record or Reject; None for a blank line."""
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(position, f"invalid-utf8: byte {line[exc.start]:#04x} at offset {exc.start}")
    if not decoded.strip():
        return None
    try:
        obj = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return Reject(position, f"invalid-json: {exc.msg} (column {exc.colno})")
    if not isinstance(obj, dict):
        return Reject(position, f"not-an-object: {type(obj).__name__}")
    return record_from_mapping(obj, position, file_name, text_field, id_field)


def record_from_mapping(
    obj: dict[str, Any],
    position: int,
    file_name: str,
    text_field: str = "text",
    id_field: str = "id",
) -> Record | Reject:
    """A Record from one source row (JSONL object or Parquet row) with the shared id/url rules.

    ``text_field``/``id_field`` name the source's columns (``content``, ``raw_content``...);
    other fields, ``text``/``id`` included when they are not those, go to metadata.
    """
    text = obj.get(text_field)
    if not isinstance(text, str):
        kind = "absent" if text is None else type(text).__name__
        return Reject(position, f"missing-text: {text_field} is {kind}")
    raw_id = obj.get(id_field)
    if isinstance(raw_id, str) and raw_id:
        doc_id = raw_id
    elif isinstance(raw_id, int) and not isinstance(raw_id, bool):
        doc_id = str(raw_id)
    else:
        doc_id = f"{file_name}:{position}"
    metadata: dict[str, Any] = {
        k: v for k, v in obj.items() if k not in (id_field, text_field, "url")
    }
    nested = metadata.get("metadata")
    if isinstance(nested, dict):
        # Dolma keeps url, warc fields, content type here: flatten one level so
        # every source's metadata looks alike; top-level keys win on a clash.
        del metadata["metadata"]
        for key, value in nested.items():
            metadata.setdefault(key, value)
    url = obj.get("url")
    if not isinstance(url, str):
        url = metadata.pop("url", None) if isinstance(metadata.get("url"), str) else None
    return Record(id=doc_id, text=text, position=position, url=url or None, metadata=metadata)


# Line rejects that mean "these bytes are no JSON text"; in a binary file a run of
# them is one reject (a 100 kB binary file would otherwise be ~400 reject rows).
_UNDECODABLE = ("invalid-utf8", "invalid-json", "not-an-object", "record-too-large")
_SNIFF_BYTES = 8192
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\f\r") + b"\x7f"


def looks_binary(head: bytes) -> bool:
    """A NUL byte, or more than 10% control bytes: no JSON Lines text looks like this
    (JSON escapes control characters), while binaries, archives and UTF-16 do."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    return len(head) - len(head.translate(None, _CONTROL)) > len(head) // 10


def _sniff(stream: IO[bytes]) -> bool:
    try:
        return looks_binary(stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES])  # type: ignore[attr-defined]
    except _DECOMPRESSION_ERRORS:
        return False  # the read loop reports the damage


def _binary_reject(start: int, n: int, first: str) -> Reject:
    return Reject(start, f"binary-data: {n} undecodable line(s) from line {start} (first: {first})")


def read(
    path: Path,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
    text_field: str = "text",
    id_field: str = "id",
    keep: Callable[[int], bool] | None = None,
) -> Iterator[Record | Reject]:
    """Stream the documents of one JSONL file (see the module docstring for bad input).

    In a file whose first 8 KiB look binary, each run of undecodable lines is
    one ``binary-data`` reject; a JSON line that parses still comes out.
    ``keep(position)``: only the items at these positions, the other lines are counted
    but not parsed (one part of a split file, ``pipelines.parts``).
    """
    items = _read(Path(path), max_record_bytes, text_field, id_field, keep)
    return items if keep is None else (i for i in items if keep(i.position))


def _read(
    path: Path,
    max_record_bytes: int,
    text_field: str,
    id_field: str,
    keep: Callable[[int], bool] | None,
) -> Iterator[Record | Reject]:
    position = 0
    run: list = []  # [start, count, first error] of the current undecodable run
    with open_binary(path) as stream:
        binary = _sniff(stream)
        lines = iter_lines(stream, max_record_bytes)
        while True:
            try:
                position, line, size = next(lines)
            except StopIteration:
                if run:
                    yield _binary_reject(*run)
                return
            except _DECOMPRESSION_ERRORS as exc:
                if run:
                    yield _binary_reject(*run)
                kind = compression(path) or "file"
                yield Reject(position, f"corrupt-{kind}: {type(exc).__name__}: {exc}")
                return
            if line is None:
                item = Reject(position, f"record-too-large: {size} bytes")
            elif keep is not None and not binary and not keep(position):
                item = None  # another part's line (binary runs span lines: parse them all)
            else:
                item = parse_line(line, position, path.name, text_field, id_field)
            if binary and isinstance(item, Reject) and item.error.startswith(_UNDECODABLE):
                if run:
                    run[1] += 1
                else:
                    run = [item.position, 1, item.error]
            elif item is not None:
                if run:
                    yield _binary_reject(*run)
                    run = []
                yield item
            position += 1  # where a decompression error would be reported
