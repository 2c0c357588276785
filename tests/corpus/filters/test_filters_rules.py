"""Each heuristic rule: a text that passes, a text that fails with its reason, and
thresholds taken from the config (change one, the verdict flips)."""

from __future__ import annotations

import pytest

from corpus.filters import c4, fineweb, gopher_quality, gopher_repetition
from corpus.filters.config import FilterConfig
from corpus.filters.quality import FAMILIES, QualityRules
from corpus.filters.rules import Check, TextView, find_duplicates
from tests.corpus.filters.filter_texts import GOOD_TEXT, only, reason

SENTENCES = [
    "Rivers carve valleys slowly over many thousands of years.",
    "A good map shows roads, rivers and the height of the land.",
    "Bakers knead dough so that gluten forms long elastic strands.",
    "The committee met on Tuesday to discuss the new library budget.",
    "Migrating birds use the stars and the magnetic field to navigate.",
    "Volcanic soil is rich in minerals and supports dense forests.",
    "Children learn languages faster when they hear them every day.",
    "Copper conducts electricity well and resists corrosion in water.",
]


def prose(n_lines: int = 8, start: int = 0) -> list[str]:
    """Distinct English lines (numbered so that none repeats)."""
    return [
        f"{SENTENCES[(start + i) % len(SENTENCES)]} Note {start + i} ends here."
        for i in range(n_lines)
    ]


@pytest.mark.parametrize("family", FAMILIES)
def test_good_text_passes_every_family(family):
    assert reason(GOOD_TEXT, only(family)) is None


def test_good_text_passes_all_and_every_value_is_measured():
    result = QualityRules().assess(GOOD_TEXT)
    assert result.reason is None
    assert result.text == GOOD_TEXT  # nothing for C4 to remove
    keys = set(result.values)
    for cfg_checks in (
        gopher_quality.checks(FilterConfig().gopher_quality),
        gopher_repetition.checks(FilterConfig().gopher_repetition),
        c4.checks(FilterConfig().c4),
        fineweb.checks(FilterConfig().fineweb),
    ):
        assert {c.key for c in cfg_checks} <= keys
    assert all(isinstance(v, float) for v in result.values.values())


# --- Gopher quality ---------------------------------------------------------------

STOP = "the cat and the dog went to the park with the ball of yarn "


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("The cat sat on the mat with the dog.", "gopher_short_doc"),
        (" ".join(["the"] * 100_001), "gopher_long_doc"),
        ("it is to be of an or so " * 10, "gopher_short_words"),
        ("the and " + "internationalization characteristically " * 30, "gopher_long_words"),
        (STOP * 5 + " #tag" * 10, "gopher_too_many_hashes"),
        (STOP * 5 + " wait... and..." * 5, "gopher_too_many_ellipsis"),
        (
            "\n".join(f"• the kitten and the puppy number{i}" for i in range(20)),
            "gopher_too_many_bullets",
        ),
        (
            "\n".join(
                [STOP + "and so on..."] * 1 + [STOP + "and more..."] + [STOP + "the end."] * 2
            ),
            "gopher_too_many_end_ellipsis",
        ),
        (
            STOP * 4 + " ".join(str(1_000_000 + i) for i in range(20)),
            "gopher_few_alpha_words",
        ),
        ("Cats dogs birds fish frogs mice rats owls " * 8, "gopher_few_stop_words"),
    ],
)
def test_gopher_quality_failures(text, why):
    assert reason(text, only("gopher_quality")) == why


def test_gopher_quality_values():
    view = TextView("The word, and the -- other words!\n• bullet line...\n# header")
    v = gopher_quality.measure(view, FilterConfig().gopher_quality)
    assert v["gopher_words"] == 9  # 12 tokens; "--", "•" and "#" are not words
    assert v["gopher_stop_words"] == 3  # The, and, the (case-insensitive)
    assert v["gopher_bullet_lines_ratio"] == pytest.approx(1 / 3)
    assert v["gopher_ellipsis_lines_ratio"] == pytest.approx(1 / 3)
    assert v["gopher_hash_ratio"] == pytest.approx(1 / 9)
    assert v["gopher_ellipsis_ratio"] == pytest.approx(1 / 9)
    assert v["gopher_mean_word_length"] == pytest.approx(39 / 9)  # punctuation not counted
    assert v["gopher_alpha_words_ratio"] == pytest.approx(9 / 12)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("min_doc_words", 101, "gopher_short_doc"),
        ("max_doc_words", 99, "gopher_long_doc"),
        ("min_avg_word_length", 6, "gopher_short_words"),
        ("max_avg_word_length", 5, "gopher_long_words"),
        ("min_alpha_words_ratio", 1.01, "gopher_few_alpha_words"),
        ("min_stop_words", 20, "gopher_few_stop_words"),
    ],
)
def test_gopher_quality_thresholds_from_config(field, value, why):
    # GOOD_TEXT: 100 words, mean length 5.44, alpha ratio 1.0, 19 stop words
    assert reason(GOOD_TEXT, only("gopher_quality")) is None
    assert reason(GOOD_TEXT, only("gopher_quality", **{field: value})) == why


def test_gopher_rule_switched_off_by_none():
    short = "The cat sat on the mat with the dog."
    assert reason(short, only("gopher_quality", min_doc_words=None)) is None


# --- Gopher repetition ------------------------------------------------------------


def test_repetition_failures_lines_and_paragraphs():
    lines = prose(6)
    para = "\n\n".join([lines[0], lines[0], lines[0], lines[1]])
    assert reason(para, only("gopher_repetition")) == "gopher_dup_para_frac"
    single = "\n".join([lines[0], lines[1], lines[0], lines[0]])
    assert reason(single, only("gopher_repetition")) == "gopher_dup_line_frac"
    long_line = " ".join(prose(6, start=10))
    paras = "\n\n".join([long_line, lines[1], lines[2], long_line])
    assert reason(paras, only("gopher_repetition")) == "gopher_dup_para_char_frac"
    flat = "\n".join([long_line, lines[1], lines[2], long_line])
    assert reason(flat, only("gopher_repetition")) == "gopher_dup_line_char_frac"


def test_dup_fractions_values():
    assert find_duplicates(["a", "bb", "a", "bb", "a"]) == (3, 4)
    v = gopher_repetition.measure(TextView("x\ny\nx\nx"), FilterConfig().gopher_repetition)
    assert v["rep_dup_line_frac"] == pytest.approx(0.5)
    assert v["rep_dup_line_char_frac"] == pytest.approx(2 / 7)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_top_ngram(n):
    words = " ".join(f"alpha beta gamma delta w{i}" for i in range(30))
    cfg = only("gopher_repetition", top_n_grams={n: 0.18}, dup_n_grams={})
    assert reason(words, cfg) == f"gopher_top_{n}_gram"
    assert reason(" ".join(prose(8)), cfg) is None


def test_top_ngram_value():
    text = "a b a b c"
    v = gopher_repetition.measure(TextView(text), FilterConfig().gopher_repetition)
    # "a b" occurs twice, 3 chars each (space counted) over 9 chars
    assert v["rep_top_2_gram_frac"] == pytest.approx(6 / 9)
    assert v["rep_top_3_gram_frac"] == 0.0  # nothing repeats


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9, 10])
def test_dup_ngrams(n):
    phrase = "the quick brown fox jumps over the lazy sleeping dog again"
    filler = [" ".join(f"u{i}x{j}" for j in range(6)) for i in range(4)]
    text = " ".join([phrase, filler[0], phrase, filler[1], phrase, filler[2]])
    cfg = only("gopher_repetition", top_n_grams={}, dup_n_grams={n: 0.1})
    assert reason(text, cfg) == f"gopher_dup_{n}_grams"
    assert reason(" ".join(prose(8)), cfg) is None


def test_dup_ngram_value_counts_non_overlapping_repeats():
    text = "a b c d e a b c d e a b c d e"
    v = gopher_repetition.measure(TextView(text), FilterConfig().gopher_repetition)
    # 5-gram "a b c d e" (9 chars) repeats twice after its first occurrence
    assert v["rep_dup_5_gram_frac"] == pytest.approx(18 / len(text))
    # the 10-gram at 5 repeats the one at 0 (19 chars)
    assert v["rep_dup_10_gram_frac"] == pytest.approx(19 / len(text))


def test_check_semantics():
    assert Check("r", "k", "<", 3).fails(2) and not Check("r", "k", "<", 3).fails(3)
    assert Check("r", "k", "<=", 3).fails(3)
    assert Check("r", "k", ">=", 3).fails(3) and not Check("r", "k", ">", 3).fails(3)
    assert not Check("r", "k", "<", None).fails(-1e9)  # threshold None: rule off
    assert not Check("r", "k", "<=", 0.1, exempt=0.0).fails(0.0)
    assert Check("r", "k", "<=", 0.1, exempt=0.0).fails(0.05)


def test_repetition_shortcuts_change_no_value():
    import random

    rng = random.Random(1)
    vocab = ["a", "bb", "ccc", "dd", "e", "ff", "ggg", "the", "of"]
    cfg = FilterConfig().gopher_repetition
    for size in (0, 1, 3, 5, 12, 40, 200):
        for _ in range(5):
            text = " ".join(rng.choice(vocab[: rng.randint(2, 9)]) for _ in range(size))
            view = TextView(text)
            values = gopher_repetition.measure(view, cfg)
            grams = gopher_repetition.NGrams(view.words)
            for n in cfg.top_n_grams:
                expect = gopher_repetition.top_ngram_char_frac(grams, n, len(text))
                assert values[f"rep_top_{n}_gram_frac"] == pytest.approx(expect)
            for n in cfg.dup_n_grams:
                expect = gopher_repetition.dup_ngram_char_frac(grams, n, len(text))
                assert values[f"rep_dup_{n}_gram_frac"] == pytest.approx(expect)


def _reference_dup(words: list[str], n: int) -> int:
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    first: dict[tuple[str, ...], int] = {}
    for i, g in enumerate(grams):
        first.setdefault(g, i)
    chars = free = 0
    for i, g in enumerate(grams):
        if first[g] != i and i >= free:
            chars += len(" ".join(g))
            free = i + n
    return chars


def _reference_top(words: list[str], n: int) -> int:
    from collections import Counter

    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    if not counts or max(counts.values()) < 2:
        return 0
    top = max(counts.values())
    return max(len(" ".join(g)) * c for g, c in counts.items() if c == top)


def test_ngram_hashing_matches_a_plain_python_reference():
    import random

    rng = random.Random(7)
    for _ in range(60):
        vocab = [f"w{i}" * rng.randint(1, 3) for i in range(rng.randint(2, 30))]
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 120))]
        text = " ".join(words)
        grams = gopher_repetition.NGrams(words)
        for n in range(2, 11):
            if not text:
                continue
            assert gopher_repetition.dup_ngram_char_frac(grams, n, len(text)) == pytest.approx(
                _reference_dup(words, n) / len(text)
            )
            assert gopher_repetition.top_ngram_char_frac(grams, n, len(text)) == pytest.approx(
                _reference_top(words, n) / len(text)
            )


def test_stop_word_case_variants_are_exact():
    import sys

    from corpus.filters.gopher_quality import _lower_forms, case_variants, stop_word_count

    # every character whose lower case is one ASCII character is among that one's forms
    for cp in range(sys.maxunicode + 1):
        low = chr(cp).lower()
        if len(low) == 1 and low.isascii():
            assert chr(cp) in _lower_forms(low), hex(cp)
    for c in map(chr, range(128)):
        assert c != c.lower() or all(f.lower() == c for f in _lower_forms(c))
    stop = frozenset(["the", "of", "don't", "key"])
    assert len(case_variants(stop)) == 8 + 4 + 16 + 12
    assert case_variants(frozenset(["σου"])) is None and case_variants(frozenset(["The"])) is None
    words = ["The", "THE", "tHe", "thé", "theme", "OF", "Don'T", "\u212aEY", "İf", "of,", "(The)"]
    assert stop_word_count(words, ["of,", "(The)"], stop) == 6 + 2
    assert sum(w.lower() in stop for w in words) == 6
