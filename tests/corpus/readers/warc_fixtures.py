"""Builders for reader fixtures: HTML pages and WARC/WET files written with warcio."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ARTICLE = (
    "Photosynthesis is the process by which green plants use sunlight to turn water "
    "and carbon dioxide into glucose and oxygen. "
)


def html_page(title: str, body: str, charset_meta: str | None = None) -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/about'>About</a> <a href='/shop'>Shop</a></nav>"
        f"<article><h1>{title}</h1><p>{body}</p><p>{body}</p></article>"
        "<footer>Copyright 2024 Example Corp. All rights reserved.</footer></body></html>"
    )


class WarcBuilder:
    """Collects records, then writes them; ``offsets`` says where each record starts."""

    def __init__(self, path: Path, gzip: bool):
        self.path, self.gzip = path, gzip
        self._buf = io.BytesIO()
        self._writer = WARCWriter(self._buf, gzip=gzip)
        self.offsets: list[int] = []
        self.ids: list[str] = []

    def _add(self, record) -> None:
        self.offsets.append(self._buf.tell())
        self.ids.append(record.rec_headers.get_header("WARC-Record-ID"))
        self._writer.write_record(record)

    def warcinfo(self) -> None:
        self._add(self._writer.create_warcinfo_record(self.path.name, {"software": "tests"}))

    def request(self, url: str) -> None:
        headers = StatusAndHeaders(
            "GET / HTTP/1.1", [("Host", "example.com")], is_http_request=True
        )
        self._add(self._writer.create_warc_record(url, "request", http_headers=headers))

    def response(
        self,
        url: str,
        body: bytes,
        content_type: str | None = "text/html; charset=utf-8",
        status: str = "200 OK",
        extra_headers: list[tuple[str, str]] | None = None,
    ) -> None:
        header_list = [("Content-Type", content_type)] if content_type else []
        header_list += extra_headers or []
        headers = StatusAndHeaders(status, header_list, protocol="HTTP/1.1")
        record = self._writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=headers
        )
        self._add(record)

    def metadata(self, url: str) -> None:
        record = self._writer.create_warc_record(
            url,
            "metadata",
            payload=io.BytesIO(b"fetchTimeMs: 12\r\n"),
            warc_content_type="application/warc-fields",
        )
        self._add(record)

    def conversion(self, url: str, text: bytes) -> None:
        record = self._writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(text), warc_content_type="text/plain"
        )
        self._add(record)

    def data(self) -> bytes:
        return self._buf.getvalue()

    def write(self, cut: int | None = None) -> Path:
        data = self.data()
        self.path.write_bytes(data if cut is None else data[:cut])
        return self.path
