import numpy as np
import pytest

from corpus.dedup.shingles import combine, jaccard, shingle_hashes, shingle_set, word_hashes


def words_of(text: str) -> np.ndarray:
    return word_hashes([text])[0]


def test_normalisation_ignores_case_digits_and_punctuation():
    a = "The Quick brown fox, jumped over 12 lazy dogs!"
    b = "the quick  brown fox\n\tjumped over 99 lazy dogs"
    c = "the \u201cquick\u201d brown fox \u2014 jumped over 42\u00a0lazy dogs\u2026"
    assert np.array_equal(words_of(a), words_of(b))
    assert np.array_equal(words_of(a), words_of(c))


def test_distinct_words_hash_differently_including_long_ones():
    vocab = ["a", "b", "ab", "ba", "abcdefgh", "abcdefgi", "abcdefghi", "abcdefghj"]
    vocab += [
        "x" * 40 + "y",
        "x" * 40 + "z",
        "x" * 41,
        "x" * 17,
        "x" * 16,
        "caf\u00e9",
        "cafe",
        "\u00fcber",
    ]
    h = words_of(" ".join(vocab))
    assert len(h) == len(vocab)
    assert len(set(h.tolist())) == len(vocab)


def test_non_ascii_words_are_kept_whole():
    assert len(words_of("na\u00efve caf\u00e9 \u0441\u043b\u043e\u0432\u043e")) == 3


def test_batch_equals_one_at_a_time_and_words_never_cross_documents():
    texts = [
        "one two three four five six",
        "",
        "a b",
        "seven eight nine ten eleven twelve thirteen",
        "x",
    ]
    h, off = shingle_hashes(texts, 5)
    assert off.tolist() == [0, 2, 2, 3, 6, 7]
    for i, t in enumerate(texts):
        alone, _ = shingle_hashes([t], 5)
        assert np.array_equal(h[off[i] : off[i + 1]], alone)


def test_ngrams_are_order_sensitive_and_count_windows():
    h, _ = shingle_hashes(["a b c d e f g"], 5)
    assert len(h) == 3
    assert h[0] != shingle_hashes(["b a c d e"], 5)[0][0]
    # A shared 5-word window gives the same shingle wherever it sits.
    x, _ = shingle_hashes(["zz yy a b c d e"], 5)
    assert h[0] == x[2]


def test_short_and_empty_texts():
    h, off = shingle_hashes(["only three words", "", "   ...  "], 5)
    assert off.tolist() == [0, 1, 1, 1]
    assert h[0] == combine(words_of("only three words"), 3)[0]
    with pytest.raises(ValueError):
        shingle_hashes(["x"], 0)


def test_unigrams():
    h, off = shingle_hashes(["a b a"], 1)
    assert len(h) == 3 and h[0] == h[2] != h[1]


def test_true_jaccard():
    a = shingle_set("a b c d e f g h i j", 1)
    b = shingle_set("a b c d e f g h k l", 1)
    assert jaccard(a, b) == pytest.approx(8 / 12)
    assert jaccard(a, a) == 1.0
    assert jaccard(np.empty(0, np.uint64), np.empty(0, np.uint64)) == 1.0
