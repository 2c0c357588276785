from __future__ import annotations

import gzip
import zlib

import pytest

from corpus.readers.base import Record, Reject
from corpus.readers.warc import dechunk, parse_http, read
from tests.corpus.readers.warc_fixtures import ARTICLE, html_page

RUSSIAN = "Фотосинтез — процесс образования органических веществ из углекислого газа и воды. "
JAPANESE = "光合成とは、植物が光のエネルギーを使って水と二酸化炭素から糖を作る反応である。"


def full_shard(builder):
    """A shard with every kind of record a crawl holds; returns (builder, expected kinds)."""
    b = builder
    b.warcinfo()
    b.request("https://www.example.com/a")
    b.response("https://www.example.com/a", html_page("Plants", ARTICLE).encode())
    b.metadata("https://www.example.com/a")
    b.response(
        "https://ru.example.com/b",
        html_page("Фотосинтез", RUSSIAN).encode("cp1251"),
        content_type="text/html; charset=windows-1251",
    )
    b.response(
        "https://jp.example.com/c",
        html_page("光合成", JAPANESE, charset_meta="shift_jis").encode("shift_jis"),
        content_type="text/html",
    )
    b.response("https://www.example.com/doc.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    b.response("https://www.example.com/gone", b"<html>gone</html>", status="404 Not Found")
    page = html_page("Chunked", ARTICLE).encode()
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(page[i : i + 100]), page[i : i + 100])
        for i in range(0, len(page), 100)
    )
    b.response(
        "https://www.example.com/chunked",
        chunked + b"0\r\n\r\n",
        extra_headers=[("Transfer-Encoding", "chunked")],
    )
    b.response(
        "https://www.example.com/gz",
        gzip.compress(html_page("Gzipped", ARTICLE).encode()),
        extra_headers=[("Content-Encoding", "gzip")],
    )
    b.response(
        "https://www.example.com/untyped", html_page("Untyped", ARTICLE).encode(), content_type=None
    )
    return b


@pytest.mark.parametrize("name", ["shard.warc.gz", "shard.warc"])
def test_html_responses_become_main_text(warc_builder, name: str) -> None:
    b = full_shard(warc_builder(name))
    items = list(read(b.write()))
    kinds = [(i.position, type(i).__name__) for i in items]
    # warcinfo (0), request (1) and metadata (3) are skipped without a reject
    assert kinds == [
        (2, "Record"),
        (4, "Record"),
        (5, "Record"),
        (6, "Reject"),
        (7, "Reject"),
        (8, "Record"),
        (9, "Record"),
        (10, "Record"),
    ]
    plants, russian, japanese, pdf, gone, chunked, gzipped, untyped = items
    assert plants.id == b.ids[2] and plants.url == "https://www.example.com/a"
    assert "Photosynthesis is the process" in plants.text
    assert "All rights reserved" not in plants.text  # footer boilerplate
    assert plants.metadata["content_type"] == "text/html; charset=utf-8"
    assert RUSSIAN.strip() in russian.text
    assert JAPANESE in japanese.text
    assert pdf.error == "not-html: application/pdf"
    assert gone.error == "http-status: 404"
    for rec in (chunked, gzipped, untyped):
        assert "Photosynthesis is the process" in rec.text
    assert "\r\n" not in chunked.text and not chunked.text.startswith(("64", "1"))


def test_truncated_last_record_uncompressed(warc_builder) -> None:
    b = warc_builder("cut.warc")
    for i in range(3):
        b.response(f"https://e.com/{i}", html_page(f"Page {i}", ARTICLE * 5).encode())
    items = list(read(b.write(cut=b.offsets[2] + (len(b.data()) - b.offsets[2]) // 2)))
    assert [type(i) for i in items] == [Record, Record, Reject]
    assert items[2].position == 2 and items[2].error.startswith("truncated-warc-record: ")


def test_truncated_inside_record_headers(warc_builder) -> None:
    b = warc_builder("cut.warc")
    for i in range(3):
        b.response(f"https://e.com/{i}", html_page(f"Page {i}", ARTICLE * 5).encode())
    items = list(read(b.write(cut=b.offsets[2] + 40)))
    assert [type(i) for i in items][:2] == [Record, Record]
    assert len(items) == 3 and items[2].error.startswith("truncated-warc-record: ")


def test_truncated_gzip_member(warc_builder) -> None:
    b = warc_builder("cut.warc.gz")
    for i in range(3):
        b.response(f"https://e.com/{i}", html_page(f"Page {i}", ARTICLE * 50).encode())
    items = list(read(b.write(cut=b.offsets[2] + (len(b.data()) - b.offsets[2]) // 2)))
    assert [type(i) for i in items] == [Record, Record, Reject]
    assert items[2].error.startswith(("truncated-warc-record: ", "corrupt-gzip: "))


def test_corrupt_gzip_member_stops_after_a_reject(warc_builder) -> None:
    b = warc_builder("bad.warc.gz")
    for i in range(4):
        b.response(f"https://e.com/{i}", html_page(f"Page {i}", ARTICLE * 50).encode())
    data = bytearray(b.data())
    mid = b.offsets[2] + 30
    data[mid : mid + 40] = bytes(40)
    b.path.write_bytes(bytes(data))
    items = list(read(b.path))
    assert [type(i) for i in items[:2]] == [Record, Record]
    assert isinstance(items[-1], Reject) and items[-1].error.startswith("corrupt-gzip: ")
    assert len(items) == 3


def test_record_too_large_is_skipped_unread(warc_builder) -> None:
    b = warc_builder("big.warc.gz")
    b.response("https://e.com/small", html_page("Small", ARTICLE).encode())
    b.response("https://e.com/big", html_page("Big", ARTICLE * 200).encode())
    b.response("https://e.com/small2", html_page("Small 2", ARTICLE).encode())
    items = list(read(b.write(), max_record_bytes=5000))
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert items[1].error.startswith("record-too-large: ")


def test_empty_warc_files(tmp_path) -> None:
    (tmp_path / "empty.warc").write_bytes(b"")
    (tmp_path / "empty.warc.gz").write_bytes(gzip.compress(b""))
    assert list(read(tmp_path / "empty.warc")) == []
    assert list(read(tmp_path / "empty.warc.gz")) == []


def test_bracketed_target_uri(warc_builder) -> None:
    b = warc_builder("b.warc")
    b.response("<https://e.com/x>", html_page("X", ARTICLE).encode())
    (rec,) = read(b.write())
    assert rec.url == "https://e.com/x"


def test_parse_http_and_dechunk() -> None:
    resp = parse_http(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-A: 1\r\n\r\n<p>hi</p>")
    assert resp is not None and resp.status == 200
    assert resp.headers == {"content-type": "text/html", "x-a": "1"} and resp.body == b"<p>hi</p>"
    assert parse_http(b"garbage without headers") is None
    assert parse_http(b"GET / HTTP/1.1\r\n\r\n") is None
    assert dechunk(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n") == b"abcde"
    assert dechunk(b"zz\r\n") == b""


def test_broken_content_encoding_is_a_reject(warc_builder) -> None:
    b = warc_builder("enc.warc")
    b.response("https://e.com/1", b"not gzip", extra_headers=[("Content-Encoding", "gzip")])
    b.response("https://e.com/2", b"x", extra_headers=[("Content-Encoding", "br")])
    deflated = zlib.compress(html_page("Deflate", ARTICLE).encode())
    b.response("https://e.com/3", deflated, extra_headers=[("Content-Encoding", "deflate")])
    one, two, three = read(b.write())
    assert one.error.startswith("corrupt-content-encoding: gzip")
    assert two.error == "unsupported-content-encoding: br"
    assert "Photosynthesis" in three.text
