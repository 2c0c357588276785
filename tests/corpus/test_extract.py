from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from corpus.extract import (
    charset_from_content_type,
    charset_from_meta,
    clean_gold,
    decode_html,
    extract_main_text,
    token_f1,
)
from corpus.readers.base import Record
from corpus.readers.warc import read as read_warc

BODY = (
    "Фотосинтез — процесс образования органических веществ из углекислого газа и воды на свету. "
    * 5
)
PAGE = (
    "<html><head>{meta}<title>t</title></head><body>"
    "<nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/login'>Login</a></nav>"
    "<article><h1>Фотосинтез</h1><p>{body}</p><p>{body}</p></article>"
    "<footer>Copyright 2024. All rights reserved. Privacy policy.</footer></body></html>"
)


def page(meta: str = "") -> str:
    return PAGE.format(meta=meta, body=BODY)


def test_charset_parsing() -> None:
    assert charset_from_content_type("text/html; charset=GB2312") == "gbk"
    assert charset_from_content_type('text/html; charset="utf-8"') == "utf-8"
    assert charset_from_content_type("text/html; charset=no-such-thing") is None
    assert charset_from_content_type(None) is None
    assert charset_from_meta(b'<html><head><meta charset="windows-1251">') == "cp1251"
    assert (
        charset_from_meta(
            b'<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
        )
        == "shift_jis"
    )
    assert charset_from_meta(b"<html><head><title>x</title>") is None


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (page().encode("cp1251"), "text/html; charset=windows-1251"),  # HTTP header
        (page('<meta charset="windows-1251">').encode("cp1251"), "text/html"),  # <meta>
        (page().encode("cp1251"), None),  # nothing declared: uchardet
        (page().encode("cp1251"), "text/html; charset=utf-8"),  # header lies: not UTF-8
        (page().encode("utf-8"), "text/html; charset=iso-8859-1"),  # header lies: UTF-8
        (b"\xef\xbb\xbf" + page().encode("utf-8"), None),  # BOM
    ],
)
def test_decode_html_finds_the_charset(raw: bytes, content_type: str | None) -> None:
    assert decode_html(raw, content_type) == page(
        '<meta charset="windows-1251">' if b"<meta" in raw else ""
    )


def test_main_text_keeps_the_article_and_drops_boilerplate() -> None:
    text = extract_main_text(
        page().encode("cp1251"), content_type="text/html; charset=windows-1251"
    )
    assert BODY.strip() in text
    assert "All rights reserved" not in text and "Login" not in text


def test_extract_from_str_and_failure_modes() -> None:
    assert BODY.strip() in extract_main_text(page())
    assert extract_main_text("") == ""
    assert "garbage" in extract_main_text(b"\x00\xff\xfe garbage <<<>>>")
    assert extract_main_text("<html><body></body></html>") == ""
    with pytest.raises(ValueError, match="unknown extractor"):
        extract_main_text(page(), extractor="nope")


def test_main_content_falls_back_to_full_text() -> None:
    # A page with no block that looks like content: the full visible text beats nothing.
    html = '<html><body><div class="sidebar">Opening hours: 9 to 5</div></body></html>'
    assert extract_main_text(html) == "Opening hours: 9 to 5"


def test_trafilatura_extractor() -> None:
    text = extract_main_text(page(), url="https://e.com/x", extractor="trafilatura")
    assert BODY.strip()[:50] in text


def test_clean_gold() -> None:
    gold = "URL: http://e.com/x\n\n<p> First para.\n<h>A heading\n<l>item one\n<P>Upper"
    cleaned = clean_gold(gold)
    assert "URL" not in cleaned and "http" not in cleaned and "<" not in cleaned
    assert cleaned.split() == ["First", "para.", "A", "heading", "item", "one", "Upper"]
    assert clean_gold("no url line\n<p>x").split() == ["no", "url", "line", "x"]


def test_token_f1() -> None:
    assert token_f1("a b c", "a b c") == (1.0, 1.0, 1.0)
    assert token_f1("", "") == (1.0, 1.0, 1.0)
    assert token_f1("a b", "") == (0.0, 0.0, 0.0)
    p, r, f = token_f1("A b b x", "a b c d")  # shared: a, b (one b counts once)
    assert (p, r) == (0.5, 0.5) and f == pytest.approx(0.5)


@pytest.mark.shared
def test_extraction_quality_on_gold_pages(shared_data: Path) -> None:
    """Mean token F1 on the 300 CleanEval/Dragnet pages; measured 0.86 (see corpus/extract.py)."""
    folder = shared_data / "extraction"
    with open(folder / "gold.jsonl", encoding="utf-8") as f:
        gold = {row["url"]: clean_gold(row["gold"]) for row in map(json.loads, f)}
    scores = []
    for rec in read_warc(folder / "html-pages.warc.gz"):
        assert isinstance(rec, Record)
        scores.append(token_f1(rec.text, gold[rec.url])[2])
    assert len(scores) == 300
    assert statistics.fmean(scores) > 0.80
    assert statistics.median(scores) > 0.88
