"""Code tokens for MinHash: shingles over lexical tokens instead of words.

The web shingler (``shingles.py``) treats punctuation as a separator and folds case
and digits, which suits prose but blurs code: ``a = f(b)`` and ``a(f) = b`` share
every word. Here a source file is lexed into identifiers (case kept), numbers,
string literals (one token each, their content intact), and operators/brackets
(multi-character operators are one token); whitespace and layout are dropped, so
re-indented or re-wrapped copies of a file still match. The lexer is a single
regular expression, language-agnostic (Python, C-like, shell...).

``profile_shingle_hashes(texts, n, profiles)`` is what the dedup steps call: rows
whose profile is ``code`` get code-token shingles, the others the web word
shingles, in the same ``(hashes, offsets)`` layout as ``shingle_hashes``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import xxhash

from corpus.dedup.shingles import U64, combine, shingle_hashes

_TOKEN = re.compile(
    r"""
    (?P<str>[rbuRBUfF]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    | (?P<num>0[xXoObB][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?[jJlLuUfF]?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<name>[^\W\d]\w*)
    | (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|==|!=|<=|>=|&&|\|\||\+\+|--|::|\.\.\.|[-+*/%&|^@]=|\S)
    """,
    re.X,
)


def code_tokens(text: str) -> list[str]:
    """The lexical tokens of a source text, in order (whitespace and layout dropped)."""
    return [m.group(0) for m in _TOKEN.finditer(text or "")]


def _token_hashes(tokens: list[str]) -> np.ndarray:
    return np.fromiter(
        (xxhash.xxh64_intdigest(t.encode("utf-8", "surrogatepass")) for t in tokens),
        dtype=U64,
        count=len(tokens),
    )


def code_shingle_hashes(texts: Sequence[str], n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """uint64 hashes of the code-token ``n``-grams of each text, concatenated, with offsets.

    Same conventions as ``shingle_hashes``: a text with 1..n-1 tokens gets one
    shingle of all its tokens, an empty one none.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    parts, counts = [], []
    for text in texts:
        h = _token_hashes(code_tokens(text))
        grams = combine(h, n) if len(h) >= n else combine(h, len(h)) if len(h) else h
        parts.append(grams)
        counts.append(len(grams))
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    out = np.concatenate(parts).astype(U64) if parts else np.empty(0, dtype=U64)
    return out, offsets


def profile_shingle_hashes(
    texts: Sequence[str], n: int, profiles: Sequence[str | None] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shingles per row by profile: ``code`` rows code tokens, the rest word shingles."""
    code = [i for i, p in enumerate(profiles or ()) if p == "code"]
    if not code:
        return shingle_hashes(texts, n)
    is_code = np.zeros(len(texts), dtype=bool)
    is_code[code] = True
    web = np.flatnonzero(~is_code)
    wh, woff = shingle_hashes([texts[i] for i in web], n) if len(web) else (None, None)
    ch, coff = code_shingle_hashes([texts[i] for i in code], n)
    counts = np.zeros(len(texts), dtype=np.int64)
    counts[code] = np.diff(coff)
    if len(web):
        counts[web] = np.diff(woff)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    out = np.empty(offsets[-1], dtype=U64)
    for k, i in enumerate(code):
        out[offsets[i] : offsets[i + 1]] = ch[coff[k] : coff[k + 1]]
    for k, i in enumerate(web.tolist()):
        out[offsets[i] : offsets[i + 1]] = wh[woff[k] : woff[k + 1]]
    return out, offsets


def table_profiles(table) -> list[str | None] | None:
    """The ``profile`` column of an Arrow table, or None when it has none."""
    return table.column("profile").to_pylist() if "profile" in table.column_names else None


def profile_columns(files: Sequence[str]) -> list[str]:
    """``["profile"]`` when the document Parquet files carry it (read it with the text)."""
    import pyarrow.parquet as pq

    return ["profile"] if files and "profile" in pq.read_schema(files[0]).names else []
