"""Exact-dedup hashing: one 64-bit hash per document of its normalised text.

Normalisation (``normalize_for_exact``), in order: Unicode NFKC (full-width and
compatibility forms fold to plain ones), lower case, every run of digits (any
script) becomes "0", and every run of characters that are neither letters nor
digits (punctuation, symbols, "_", whitespace of any kind) becomes one space; the
result is stripped. So texts that differ only in case, whitespace, punctuation or
the values of numbers share a hash. The global keep-first decision is made in SQL
over ``text_hash`` by the pipeline, across all shards and workers.

Two regex substitutions were measured faster on web text than one ``str.translate``
over a full Unicode table (most web pages are not pure ASCII, which defeats
CPython's translate cache) and than ``findall`` + join.
"""

from __future__ import annotations

import re
import unicodedata

import xxhash

_DIGITS = re.compile(r"\d\d*")  # \d+, written to start with a class: re scans for it in C
_NON_WORD = re.compile(r"[\W_]+")
_SIGN = 1 << 63


# Faster, same result (tests compare with ``_normalize_str``): the ASCII characters, most
# of any web page, are classified by one ``bytes.translate`` of the UTF-8 text (letters to
# lower case, digits to "0", anything else to a space; bytes >= 0x80 kept); only the rare
# non-ASCII characters go through re (digits to "0", non-word characters to a space).
# Then runs of "0" and of spaces are collapsed. The ASCII \d and [\W_] are exactly [0-9]
# and [^0-9A-Za-z], and ASCII bytes never occur inside a multi-byte UTF-8 sequence.
_ASCII_TABLE = bytes(
    ord(chr(c).lower()) if chr(c).isalpha() else ord("0") if chr(c).isdigit() else ord(" ")
    for c in range(128)
) + bytes(range(128, 256))
_ZERO_RUN = re.compile(rb"00+")
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f\D]")


def _normalized_bytes(text: str) -> bytes:
    if text.isascii():
        b = text.encode("ascii").translate(_ASCII_TABLE)
    else:
        if not unicodedata.is_normalized("NFKC", text):  # cheap check, rare rewrite
            text = unicodedata.normalize("NFKC", text)
        # surrogatepass: a lone surrogate (valid JSON) survives the round trip, then is a space
        b = text.lower().encode("utf-8", "surrogatepass").translate(_ASCII_TABLE)
        s = b.decode("utf-8", "surrogatepass")
        b = _NON_ASCII_DIGIT.sub("0", _NON_ASCII_NON_WORD.sub(" ", s)).encode("utf-8")
    if b"00" in b:
        b = _ZERO_RUN.sub(b"0", b)
    return b" ".join(b.split())  # only spaces are left of the whitespace


def _normalize_str(text: str) -> str:
    """The reference normalisation (``_normalized_bytes`` computes it faster)."""
    if not unicodedata.is_normalized("NFKC", text):  # cheap check, rare rewrite
        text = unicodedata.normalize("NFKC", text)
    text = _DIGITS.sub("0", text.lower())
    return _NON_WORD.sub(" ", text).strip()


def normalize_for_exact(text: str) -> str:
    return _normalized_bytes(text).decode("utf-8")


def exact_hash(text: str) -> int:
    """xxh3-64 of the normalised UTF-8 text as a SIGNED int64 (fits Arrow/DuckDB BIGINT)."""
    h = xxhash.xxh3_64_intdigest(_normalized_bytes(text))
    return h - (1 << 64) if h >= _SIGN else h
