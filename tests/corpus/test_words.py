"""Vectorised word finding and hashing: the same words as ``re``, equal words equal hashes."""

from __future__ import annotations

import re

import numpy as np

from corpus.words import hash_words

TEXTS = [
    "Hello,  WORLD!\n\tdef f(x): return x_1",
    "",
    "   ",
    "Ｆｕｌｌ－ｗｉｄｔｈ ﬁle №5 x² İstanbul ß_ok 12 ١٢٣ 3.14 a_very_long_identifier_name",
    "naïve café 😀 日本語のテキスト \ud800 end a I 7",
]


def _check(words, want: list[list[str]]) -> None:
    flat = [w for ws in want for w in ws]
    assert words.offsets.tolist() == np.cumsum([0] + [len(ws) for ws in want]).tolist()
    assert words.length.tolist() == [len(w) for w in flat]
    assert words.digit.tolist() == [w.isdigit() for w in flat]
    by_word = dict(zip(flat, words.hashes.tolist(), strict=True))
    assert len(set(by_word.values())) == len(by_word)  # distinct words, distinct hashes
    assert [by_word[w] for w in flat] == words.hashes.tolist()  # equal words, equal hashes


def test_words_are_re_s_word_runs_of_the_lower_case():
    _check(hash_words(TEXTS), [re.findall(r"\w+", t.lower()) for t in TEXTS])


def test_min_length_keeps_what_sklearn_s_token_pattern_finds():
    sk = re.compile(r"(?u)\b\w\w+\b")
    _check(hash_words(TEXTS, min_length=2), [sk.findall(t.lower()) for t in TEXTS])


def test_nfkc_folds_compatibility_forms_first():
    import unicodedata

    want = [re.findall(r"\w+", unicodedata.normalize("NFKC", t).lower()) for t in TEXTS]
    _check(hash_words(TEXTS, nfkc=True), want)
    assert (
        hash_words(["Ｆｕｌｌ"], nfkc=True).hashes.tolist() == hash_words(["full"]).hashes.tolist()
    )


def test_a_word_s_hash_does_not_depend_on_its_batch():
    alone = [hash_words([w]).hashes[0] for w in ("world", "a" * 40, "x")]
    assert hash_words(["x " + "a" * 40 + " world"]).hashes.tolist()[::-1] == alone


def test_random_texts_of_the_characters_that_matter():
    import random

    rng = random.Random(0)
    alphabet = list("aZé_0٣9²İß ﬁ.!?'-\n\t\x0b#•😀\u0307") + ["ab", "Ab1"]
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 40))) for _ in range(3000)]
    sk = re.compile(r"(?u)\b\w\w+\b")
    _check(hash_words(texts), [re.findall(r"\w+", t.lower()) for t in texts])
    _check(hash_words(texts, min_length=2), [sk.findall(t.lower()) for t in texts])
