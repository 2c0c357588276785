"""Gopher quality rules (Rae et al. 2021, arXiv:2112.11446, appendix A1.1).

Words are whitespace tokens, as in the paper. Deviations from datatrove's
``gopher_quality_filter.py`` (which tokenises with NLTK): a "word" keeps attached
punctuation, so symbol-only tokens ("|", "--") are not counted as words and the mean
word length ignores punctuation characters; the alphabetic share is over all
whitespace tokens. Bullets include markdown's "-" and "*".
"""

from __future__ import annotations

import re
from functools import lru_cache

from corpus.filters.config import GopherQualityConfig
from corpus.filters.rules import Check, TextView

_SYMBOL_TOKEN = re.compile(r"(?<!\S)[^\w\s]+(?!\S)")  # a token made only of symbols
_PUNCT_CHAR = re.compile(r"[^\w\s]")
_ALPHA_TOKEN = re.compile(r"(?<!\S)\S*?[^\W\d_]\S*")  # a token with a letter in it
_BULLETS = ("•", "●", "◦", "▪", "‣", "-", "*")
_ELLIPSES = ("...", "…")


@lru_cache(maxsize=8)
def _stop_word_regex(stop_words: tuple[str, ...]) -> re.Pattern[str]:
    # case-sensitive over lower-cased text: twice as fast as re.IGNORECASE
    return re.compile(
        r"\b(?:" + "|".join(sorted({re.escape(w.lower()) for w in stop_words})) + r")\b"
    )


def word_count(view: TextView) -> int:
    """Whitespace words that contain something other than punctuation."""
    return len(view.words) - len(_SYMBOL_TOKEN.findall(view.text))


def mean_word_length(view: TextView, n_words: int) -> float:
    """Mean length of words, punctuation characters not counted."""
    if n_words == 0:
        return 0.0
    letters = sum(map(len, view.words)) - len(_PUNCT_CHAR.findall(view.text))
    return letters / n_words


def symbol_ratios(text: str, n_words: int) -> tuple[float, float]:
    """('#' per word, ellipses per word)."""
    denom = max(n_words, 1)
    return text.count("#") / denom, (text.count("...") + text.count("…")) / denom


def line_ratios(lines: list[str]) -> tuple[float, float]:
    """(share of lines starting with a bullet, share ending with an ellipsis)."""
    if not lines:
        return 0.0, 0.0
    bullets = sum(1 for s in lines if s.lstrip().startswith(_BULLETS))
    ellipsis = sum(1 for s in lines if s.rstrip().endswith(_ELLIPSES))
    return bullets / len(lines), ellipsis / len(lines)


def alpha_words_ratio(view: TextView) -> float:
    """Share of whitespace tokens with at least one alphabetic character."""
    if not view.words:
        return 0.0
    return len(_ALPHA_TOKEN.findall(view.text)) / len(view.words)


def stop_word_count(text: str, stop_words: tuple[str, ...]) -> int:
    return len(_stop_word_regex(stop_words).findall(text.lower())) if stop_words else 0


def measure(view: TextView, cfg: GopherQualityConfig) -> dict[str, float]:
    n_words = word_count(view)
    hashes, ellipses = symbol_ratios(view.text, n_words)
    bullets, end_ellipsis = line_ratios(view.lines)
    return {
        "gopher_words": float(n_words),
        "gopher_mean_word_length": mean_word_length(view, n_words),
        "gopher_hash_ratio": hashes,
        "gopher_ellipsis_ratio": ellipses,
        "gopher_bullet_lines_ratio": bullets,
        "gopher_ellipsis_lines_ratio": end_ellipsis,
        "gopher_alpha_words_ratio": alpha_words_ratio(view),
        "gopher_stop_words": float(stop_word_count(view.text, tuple(cfg.stop_words))),
    }


def checks(cfg: GopherQualityConfig) -> list[Check]:
    return [
        Check("gopher_short_doc", "gopher_words", "<", cfg.min_doc_words),
        Check("gopher_long_doc", "gopher_words", ">", cfg.max_doc_words),
        Check("gopher_short_words", "gopher_mean_word_length", "<", cfg.min_avg_word_length),
        Check("gopher_long_words", "gopher_mean_word_length", ">", cfg.max_avg_word_length),
        Check("gopher_too_many_hashes", "gopher_hash_ratio", ">", cfg.max_symbol_word_ratio),
        Check("gopher_too_many_ellipsis", "gopher_ellipsis_ratio", ">", cfg.max_symbol_word_ratio),
        Check(
            "gopher_too_many_bullets", "gopher_bullet_lines_ratio", ">", cfg.max_bullet_lines_ratio
        ),
        Check(
            "gopher_too_many_end_ellipsis",
            "gopher_ellipsis_lines_ratio",
            ">",
            cfg.max_ellipsis_lines_ratio,
        ),
        Check("gopher_few_alpha_words", "gopher_alpha_words_ratio", "<", cfg.min_alpha_words_ratio),
        Check("gopher_few_stop_words", "gopher_stop_words", "<", cfg.min_stop_words),
    ]
