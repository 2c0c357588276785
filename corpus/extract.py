"""HTML -> main text: charset decoding and the main-content extractor.

TABLE_PLACEHOLDER
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding, map_encoding_to_html5

# Encodings decoded from the HTTP header or <meta> are trusted only if the
# bytes really decode with them; otherwise uchardet guesses from the bytes.
_CHARSET_RE = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_META_SNIFF_BYTES = (
    4096  # HTML5 says the <meta charset> must be within the first 1024 bytes; be lenient
)


def charset_from_content_type(content_type: str | None) -> str | None:
    """``text/html; charset=GB2312`` -> ``gbk`` (the WHATWG name Python can decode), else None."""
    if not content_type:
        return None
    match = _CHARSET_RE.search(content_type.encode("ascii", "ignore"))
    return _known_encoding(match.group(1).decode("ascii")) if match else None


def charset_from_meta(head: bytes) -> str | None:
    """The charset a ``<meta charset>`` / ``http-equiv`` tag declares in ``head``, else None."""
    for match in re.finditer(rb"<meta[^>]*>", head[:_META_SNIFF_BYTES], re.IGNORECASE):
        found = _CHARSET_RE.search(match.group(0))
        if found:
            return _known_encoding(found.group(1).decode("ascii"))
    return None


def _known_encoding(label: str) -> str | None:
    name = map_encoding_to_html5(label, fallback_utf8=False)
    if not name:
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode an HTML payload: HTTP header charset, then ``<meta>``, then uchardet.

    A declared charset that fails on the actual bytes (a common lie: pages
    served as ISO-8859-1 that are really UTF-8) is skipped, not forced.
    """
    for declared in (charset_from_content_type(content_type), charset_from_meta(body)):
        if declared:
            try:
                return body.decode(declared).lstrip("\ufeff")
            except UnicodeDecodeError:
                continue
    return bytes_to_str(body, detect_encoding(body), errors="replace")


def _resiliparse(html: str, url: str | None = None) -> str:
    # Options chosen by bench/extraction.py (see the table above): alt texts are
    # mostly "logo"/"icon" noise; comments stay because dropping them cost 0.05 F1.
    text = extract_plain_text(html, main_content=True, alt_texts=False, comments=True)
    if text.strip():
        return text
    # The main-content heuristic sometimes removes everything (pages built from
    # tables/divs only); the full visible text is then better than nothing and
    # the quality filters downstream judge it.
    return extract_plain_text(html, main_content=False, alt_texts=False)


def _trafilatura(html: str, url: str | None = None) -> str:
    import trafilatura  # heavy import (lxml, justext, readability): only when chosen

    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        with_metadata=False,
    )
    return text or ""


EXTRACTORS: dict[str, Callable[[str, str | None], str]] = {
    "resiliparse": _resiliparse,
    "trafilatura": _trafilatura,
}
DEFAULT_EXTRACTOR = "resiliparse"


def extract_main_text(
    html: bytes | str,
    url: str | None = None,
    *,
    content_type: str | None = None,
    extractor: str = DEFAULT_EXTRACTOR,
) -> str:
    """Main text of one HTML page; ``""`` when the page has none (never raises on bad HTML)."""
    if isinstance(html, bytes):
        html = decode_html(html, content_type)
    extract = EXTRACTORS.get(extractor)
    if extract is None:
        raise ValueError(f"unknown extractor {extractor!r}; choose from {sorted(EXTRACTORS)}")
    try:
        text = extract(html, url)
    except Exception:  # parser crash on pathological markup: no text, not a dead worker
        return ""
    # A BOM inside the page (PHP includes saved with one) survives decoding.
    return text.replace("\ufeff", "").strip()


# --- quality measurement (bench/extraction.py and the regression test) -------------

_TOKEN_RE = re.compile(r"\w+")
_GOLD_TAG_RE = re.compile(r"<\s*[phl]\s*>", re.IGNORECASE)


def clean_gold(gold: str) -> str:
    """CleanEval gold without its ``URL:`` first line and ``<p>``/``<h>``/``<l>`` block marks."""
    lines = gold.lstrip().split("\n", 1)
    if lines[0].startswith("URL:"):
        gold = lines[1] if len(lines) > 1 else ""
    return _GOLD_TAG_RE.sub(" ", gold)


def token_f1(predicted: str, gold: str) -> tuple[float, float, float]:
    """Bag-of-tokens ``(precision, recall, f1)`` of lowercased ``\\w+`` tokens.

    Two empty texts agree perfectly; one empty side scores 0.
    """
    pred = Counter(_TOKEN_RE.findall(predicted.lower()))
    ref = Counter(_TOKEN_RE.findall(gold.lower()))
    if not pred and not ref:
        return 1.0, 1.0, 1.0
    common = sum((pred & ref).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision = common / sum(pred.values())
    recall = common / sum(ref.values())
    return precision, recall, 2 * precision * recall / (precision + recall)
