"""C4 line filters (which edit the text) and FineWeb ratios: pass/fail texts, values,
config thresholds."""

from __future__ import annotations

import pytest

from corpus.filters import c4
from corpus.filters.config import C4Config, FilterConfig
from corpus.filters.quality import QualityRules
from corpus.filters.rules import TextView
from tests.corpus.filters.filter_texts import GOOD_TEXT, only, reason

GOOD_LINES = [
    "Tides rise and fall twice a day along most ocean coasts.",
    "The moon's gravity pulls the water into a gentle bulge.",
    "Sailors have used tide tables for centuries to plan voyages.",
    "Estuaries mix fresh river water with the salty sea twice daily.",
]


def test_c4_lorem_ipsum_and_curly_bracket():
    lorem = "\n".join([*GOOD_LINES, "Lorem ipsum dolor sit amet, consectetur adipiscing elit."])
    assert reason(lorem, only("c4")) == "c4_lorem_ipsum"
    curly = "\n".join([*GOOD_LINES, "In C the body is written as { return x; } on one line."])
    assert reason(curly, only("c4")) == "c4_curly_bracket"
    assert reason(curly, only("c4", filter_curly_bracket=False)) is None
    assert reason("\n".join(GOOD_LINES), only("c4")) is None


def test_c4_too_few_sentences_and_threshold():
    two = "\n".join(GOOD_LINES[:2])
    assert reason(two, only("c4")) == "c4_too_few_sentences"  # default: 3 (TFDS)
    assert reason(two, only("c4", min_num_sentences=2)) is None
    assert reason("\n".join(GOOD_LINES), only("c4", min_num_sentences=5)) == "c4_too_few_sentences"


def test_c4_removes_failing_lines_and_says_how_many():
    text = "\n".join(
        [
            "Home | About | Contact",  # no terminal punctuation
            GOOD_LINES[0],
            "Please enable JavaScript to view the comments below.",  # javascript
            GOOD_LINES[1],
            "",
            "Too short.",  # fewer than 5 words
            "This site uses cookies to improve your experience of it.",  # policy
            GOOD_LINES[2] + " [12]",  # citation stripped, line kept
            "x" * 1001 + " is a very long word indeed here.",  # word over 1000 chars
            "And the story continues with more of the same words...",  # ellipsis
        ]
    )
    result = QualityRules(only("c4")).assess(text)
    assert result.reason is None
    assert result.values["c4_lines"] == 9  # blank lines are not counted
    assert result.values["c4_lines_removed"] == 6
    assert result.values["c4_sentences"] == 3
    # kept lines in order; the blank line survives as a paragraph break
    assert result.text == "\n".join([GOOD_LINES[0], GOOD_LINES[1], "", GOOD_LINES[2]])


def test_c4_count_only_mode_keeps_text():
    text = "\n".join(["Menu Home Shop", *GOOD_LINES])
    edited = QualityRules(only("c4")).assess(text)
    counted = QualityRules(only("c4", edit_text=False)).assess(text)
    assert edited.text == "\n".join(GOOD_LINES)
    assert counted.text == text
    assert edited.values == counted.values
    assert counted.values["c4_lines_removed"] == 1


def test_c4_line_switches():
    cfg = C4Config(filter_javascript=False, filter_policy=False, filter_no_terminal_punct=False)
    view = TextView("Enable JavaScript to see this page now\nWe use cookies on this site for you.")
    values, text = c4.measure(view, cfg)
    assert values["c4_lines_removed"] == 0
    assert text == view.text


def test_c4_sentence_count():
    assert c4.sentence_count("One. Two! Three? Four") == 3
    assert c4.sentence_count("no punctuation at all") == 1
    assert c4.sentence_count('He said "stop." Then he left.') == 2


# --- FineWeb ----------------------------------------------------------------------


def test_fineweb_line_punct_ratio():
    no_punct = "\n".join(
        f"This line has no final punctuation mark at all number {i}" for i in range(10)
    )
    assert reason(no_punct, only("fineweb")) == "fineweb_line_punct_ratio"
    assert reason(no_punct, only("fineweb", line_punct_exclude_zero=True)) is None
    assert reason(no_punct, only("fineweb", line_punct_thr=None)) is None


def test_fineweb_short_lines():
    short = "\n".join(f"Yes, item {i} is fine." for i in range(10))
    assert reason(short, only("fineweb")) == "fineweb_short_line_ratio"
    assert reason(short, only("fineweb", short_line_length=10)) is None


def test_fineweb_char_dup_ratio():
    text = "\n".join([*GOOD_LINES, GOOD_LINES[0]])
    assert reason(text, only("fineweb")) == "fineweb_char_dup_ratio"
    assert reason(text, only("fineweb", char_dup_ratio=0.5)) is None


def test_fineweb_list_ratio():
    text = "\n".join(f"Extraordinarily magnificent tapestry{i}." for i in range(20))
    assert reason(text, only("fineweb")) == "fineweb_list_ratio"
    assert reason(text, only("fineweb", new_line_ratio=0.5)) is None


def test_fineweb_values():
    cfg = FilterConfig()
    values = QualityRules(cfg).assess(GOOD_TEXT).values
    assert values["fw_line_punct_ratio"] == 1.0
    assert values["fw_short_line_ratio"] == 0.0
    assert values["fw_char_dup_ratio"] == 0.0
    assert values["fw_newline_ratio"] == pytest.approx(
        GOOD_TEXT.count("\n") / len(GOOD_TEXT.split())
    )


def test_fineweb_sees_the_text_c4_left():
    # C4 removes the navigation lines, so FineWeb's punctuation ratio is over prose only
    nav = [f"Menu link {i}" for i in range(70)]
    text = "\n".join([*nav, *GOOD_TEXT.splitlines()])
    cfg = FilterConfig()
    cfg.gopher_repetition.enabled = cfg.gopher_quality.enabled = False
    assert QualityRules(cfg).assess(text).reason is None
    cfg.c4.enabled = False
    assert QualityRules(cfg).assess(text).reason == "fineweb_line_punct_ratio"


def test_measure_all_false_stops_at_first_failing_family():
    short = "The cat sat on the mat with the dog."
    cfg = FilterConfig(measure_all=False)
    values = QualityRules(cfg).assess(short).values
    assert "rep_dup_line_frac" in values and "gopher_words" in values
    assert "c4_lines" not in values
    assert "c4_lines" in QualityRules(FilterConfig()).assess(short).values


def test_c4_phrases_found_without_and_with_citations():
    # the per-line phrase checks are skipped for texts without a phrase: same result
    cfg = FilterConfig().c4
    ok = "This is a fine sentence with enough words in it."
    for text, removed in (
        (f"{ok}\nPlease enable JavaScript in your browser now.\n{ok}", 1.0),
        (f"{ok}\nRead our Privacy Policy before you go on.\n{ok}", 1.0),
        (f"{ok}\nPlease enable Java[1]Script in your browser now.\n{ok}", 1.0),
        (f"{ok}\nPlease enable Java[1] script in your browser now.\n{ok}", 0.0),
        (f"{ok}\nA {{curly}} line that has enough words here.\n{ok}", 0.0),
    ):
        values, _ = c4.measure(TextView(text), cfg)
        assert values["c4_lines_removed"] == removed, text
    values, _ = c4.measure(TextView(f"{ok}\nA {{curly}} line that has enough words here."), cfg)
    assert values["c4_curly_bracket"] == 1.0
    values, _ = c4.measure(TextView(f"Lorem Ipsum dolor sit amet, consectetur.\n{ok}"), cfg)
    assert values["c4_lorem_ipsum"] == 1.0
