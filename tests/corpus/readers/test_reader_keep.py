"""``read_path(..., keep=...)``: the items of the kept positions, exactly as a full read
yields them (one part of a split file, pipelines/parts.py), in every format."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpus.readers import read_path
from tests.corpus.readers.warc_fixtures import ARTICLE, html_page

DEMO_WARC = Path(__file__).resolve().parents[3] / "pipelines" / "demo_data" / "python-docs.warc.gz"


def _owners(n_parts: int, block: int):
    return [lambda p, i=i: (p // block) % n_parts == i for i in range(n_parts)]


def _assert_parts_partition(path: Path, n_parts: int = 3, block: int = 2) -> list:
    full = list(read_path(path))
    parts = [list(read_path(path, keep=keep)) for keep in _owners(n_parts, block)]
    for keep, items in zip(_owners(n_parts, block), parts, strict=True):
        assert items == [i for i in full if keep(i.position)]
    assert sorted(i.position for p in parts for i in p) == [i.position for i in full]
    return full


def _jsonl_lines(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        if i % 7 == 3:
            out.append(b"{not json")
        elif i % 5 == 1:
            out.append(b"")
        else:
            out.append(json.dumps({"id": f"d{i}", "text": f"document {i}"}).encode())
    return out


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.zst"])
def test_jsonl_parts(tmp_path, name):
    data = b"\n".join(_jsonl_lines(40)) + b"\n"
    if name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path = tmp_path / name
    path.write_bytes(data)
    assert len(_assert_parts_partition(path)) > 20


def test_truncated_zstd_reject_belongs_to_one_part(tmp_path):
    data = zstandard.ZstdCompressor().compress(b"\n".join(_jsonl_lines(200)) + b"\n")
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(data[: len(data) // 2])
    full = _assert_parts_partition(path)
    assert full[-1].error.startswith("corrupt-zstd")


def test_binary_runs_across_blocks_stay_one_reject(tmp_path):
    """A run of undecodable lines is one reject at its first line, in whichever part owns it."""
    blob = random.Random(3).randbytes(3000)
    good = [json.dumps({"id": f"g{i}", "text": f"good {i}"}).encode() for i in range(3)]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join([blob, good[0], blob, good[1], good[2]]) + b"\n")
    full = _assert_parts_partition(path)
    assert sum("binary-data" in getattr(i, "error", "") for i in full) == 2


def test_parquet_parts(tmp_path):
    path = tmp_path / "a.parquet"
    rows = {"id": [f"d{i}" for i in range(30)], "text": [f"text {i}" for i in range(30)]}
    pq.write_table(pa.table(rows), path, row_group_size=7)
    assert len(_assert_parts_partition(path)) == 30


def test_warc_and_wet_parts(warc_builder):
    b = warc_builder("crawl.warc.gz")
    b.warcinfo()
    for i in range(8):
        b.request(f"https://example.com/{i}")
        if i % 3 == 2:
            b.response(f"https://example.com/{i}", b"%PDF", content_type="application/pdf")
        else:
            b.response(f"https://example.com/{i}", html_page(f"Page {i}", ARTICLE).encode())
    assert len(_assert_parts_partition(b.write())) == 8
    w = warc_builder("crawl.warc.wet.gz")
    w.warcinfo()
    for i in range(9):
        w.conversion(f"https://example.com/{i}", f"text {i}".encode())
    assert len(_assert_parts_partition(w.write())) == 9


def test_demo_warc_parts():
    _assert_parts_partition(DEMO_WARC, n_parts=2, block=5)
