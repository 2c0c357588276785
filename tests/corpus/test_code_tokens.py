"""Code-token shingles: the lexer, the layout of ``profile_shingle_hashes``, and why it matters."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpus.dedup.candidates import doc_bands
from corpus.dedup.code_tokens import (
    code_shingle_hashes,
    code_tokens,
    profile_shingle_hashes,
)
from corpus.dedup.config import DedupConfig
from corpus.dedup.shingles import jaccard, shingle_hashes

SRC = '''def mean(xs: list[float]) -> float:
    """Average of xs."""
    total = 0.0
    for x in xs:
        total += x ** 2
    return total / len(xs) if xs else 0.0
'''


def test_lexer_keeps_operators_strings_and_case():
    toks = code_tokens('x = f"a b" + Foo(y) ** 2  # note\nz //= 0x1F; a->b != c')
    assert toks[:8] == ["x", "=", 'f"a b"', "+", "Foo", "(", "y", ")"]
    assert "**" in toks and "//=" in toks and "0x1F" in toks and "->" in toks and "!=" in toks
    assert code_tokens("") == []
    assert '"""Average of xs."""' in code_tokens(SRC)


def sets(hashes, off):
    return [np.unique(hashes[off[i] : off[i + 1]]) for i in range(len(off) - 1)]


def test_reformatting_keeps_code_identical_but_swapped_structure_differs():
    reflowed = SRC.replace("    ", "\t").replace(" = ", "=").replace(" += ", "+=")
    ops = SRC.replace("+= x ** 2", "-= x // 2").replace("total / len", "total * len")
    a, b, c = sets(*code_shingle_hashes([SRC, reflowed, ops], 5))
    assert jaccard(a, b) == 1.0
    assert jaccard(a, c) < 0.7
    # word shingles drop the operators: for them the two programs are one text
    wa, _, wc = sets(*shingle_hashes([SRC, reflowed, ops], 5))
    assert jaccard(wa, wc) == 1.0


def test_profile_layout_matches_each_tokenizer_per_row():
    texts = ["The cat sat on the mat today.", SRC, "", "x = 1"]
    h, off = profile_shingle_hashes(texts, 5, ["web", "code", "code", None])
    wh, woff = shingle_hashes([texts[0], texts[3]], 5)
    ch, coff = code_shingle_hashes([texts[1], texts[2]], 5)
    rows = sets(h, off)
    assert np.array_equal(rows[0], np.unique(wh[woff[0] : woff[1]]))
    assert np.array_equal(rows[1], np.unique(ch[coff[0] : coff[1]]))
    assert len(rows[2]) == 0
    assert np.array_equal(rows[3], np.unique(wh[woff[1] : woff[2]]))
    assert len(rows[3]) == 1  # 3 words < n: one whole-text shingle
    same, same_off = profile_shingle_hashes(texts, 5, None)
    ref, ref_off = shingle_hashes(texts, 5)
    assert np.array_equal(same, ref) and np.array_equal(same_off, ref_off)


def test_doc_bands_use_code_tokens_for_code_rows():
    cfg = DedupConfig()
    t = pa.table(
        {
            "uid": ["a", "b"],
            "id": ["a", "b"],
            "source_file": ["f", "f"],
            "position": [0, 1],
            "text": [SRC, SRC],
        }
    )
    web = doc_bands(t, cfg).column("bands").to_pylist()
    code = doc_bands(t.append_column("profile", pa.array(["code", "web"])), cfg)
    code = code.column("bands").to_pylist()
    assert code[1] == web[1] and code[0] != web[0]
