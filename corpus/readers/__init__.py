"""Streaming readers for web shards: JSONL, Parquet, WARC (HTML -> main text), WET.

Every reader is ``read(path, *, max_record_bytes=...) -> Iterator[Record | Reject]``
(see ``base``); ``read_path`` picks one by file name and ``expand_inputs`` turns
user patterns into files; ``iter_records`` does both and skips (counts) rejects.
"""

from corpus.readers.base import Record, Reject
from corpus.readers.inputs import InputError, expand_inputs, input_format, read_path
from corpus.readers.jsonl import MAX_RECORD_BYTES
from corpus.readers.records import ReadStats, iter_records

__all__ = [
    "MAX_RECORD_BYTES",
    "InputError",
    "Record",
    "ReadStats",
    "Reject",
    "expand_inputs",
    "input_format",
    "iter_records",
    "read_path",
]
