from __future__ import annotations

from corpus.readers.base import Record, Reject
from corpus.readers.wet import read


def test_conversion_records_are_documents(warc_builder) -> None:
    b = warc_builder("crawl.warc.wet.gz")
    b.warcinfo()
    b.conversion("https://www.example.com/a", b"Plain extracted text.\nSecond line.\n")
    b.conversion("https://example.org/ß", "Straße und Brücke".encode())
    b.conversion("https://example.org/latin1", "caf\xe9".encode("latin-1"))
    b.conversion("https://example.org/empty", b"")
    items = list(read(b.write()))
    assert [(i.position, type(i)) for i in items] == [
        (1, Record),
        (2, Record),
        (3, Reject),
        (4, Record),
    ]
    first, second, bad, empty = items
    assert first.id == b.ids[1] and first.url == "https://www.example.com/a"
    assert first.text == "Plain extracted text.\nSecond line."
    assert second.text == "Straße und Brücke"
    assert bad.error.startswith("invalid-utf8: byte 0xe9")
    assert empty.text == ""


def test_truncated_wet(warc_builder) -> None:
    b = warc_builder("cut.wet", gzip=False)
    b.conversion("https://e.com/1", b"one " * 100)
    b.conversion("https://e.com/2", b"two " * 100)
    items = list(read(b.write(cut=len(b.data()) - 50)))
    assert [type(i) for i in items] == [Record, Reject]
    assert items[1].error.startswith("truncated-warc-record: ")


def test_record_too_large(warc_builder) -> None:
    b = warc_builder("big.wet.gz")
    b.conversion("https://e.com/1", b"x" * 2000)
    b.conversion("https://e.com/2", b"small")
    big, small = read(b.write(), max_record_bytes=1000)
    assert big.error == "record-too-large: 2000 bytes" and small.text == "small"
