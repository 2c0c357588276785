"""Hot regexes were rewritten to start with a character class (re then scans for it in C);
each must match exactly as the pattern it replaces, on random text of the characters
that matter to it."""

from __future__ import annotations

import random
import re

import pytest

from corpus.filters import c4, exact, gopher_quality, gopher_repetition
from corpus.toxicity import _SENT

ALPHABET = list("aZé_0٣9 .!?\"'”’)]([-\n\t\r\x0b#*•") + ["\n\n", ". ", "?\n", "ab", "Ab1"]
REWRITES = [
    (r"[.!?]+[\"'”’)\]]*(?=\s|$)", c4._SENTENCE_END, "findall"),
    (r"\d+", exact._DIGITS, "sub"),
    (r"(?<!\S)[^\w\s]+(?!\S)", gopher_quality._SYMBOL_TOKEN, "findall"),
    (r"\n{2,}", gopher_repetition._PARAGRAPH_SPLIT, "split"),
    (r"(?<=[.!?])\s+|\n+", _SENT, "split"),
]


@pytest.mark.parametrize("old, new, how", REWRITES)
def test_rewritten_pattern_matches_as_the_original(old, new, how):
    old = re.compile(old)
    rng = random.Random(0)
    texts = ["", " ", "a", "1", "\n\n\n"]
    texts += ["".join(rng.choices(ALPHABET, k=rng.randint(1, 40))) for _ in range(5000)]
    for t in texts:
        if how == "findall":
            assert [m.span() for m in new.finditer(t)] == [m.span() for m in old.finditer(t)], t
        elif how == "split":
            assert new.split(t) == old.split(t), repr(t)
        else:
            assert new.sub("0", t) == old.sub("0", t), repr(t)
