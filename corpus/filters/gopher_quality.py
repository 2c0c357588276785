"""Gopher quality rules (Rae et al. 2021, arXiv:2112.11446, appendix A1.1).

Words are whitespace tokens, as in the paper. Deviations from datatrove's
``gopher_quality_filter.py`` (which tokenises with NLTK): a "word" keeps attached
punctuation, so symbol-only tokens ("|", "--") are not counted as words and the mean
word length ignores punctuation characters; the alphabetic share is over all
whitespace tokens; a stop word is a word equal to one of the list once lower-cased
and stripped of surrounding punctuation. Bullets include markdown's "-" and "*".

Speed: most words are purely alphabetic (``str.isalpha``, mapped in C); only the
others are looked at with regexes, joined into one short string.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from itertools import filterfalse, product, repeat
from math import prod

from corpus.filters.config import GopherQualityConfig
from corpus.filters.rules import Check, TextView

# A token made only of symbols, (?<!\S)[^\w\s]+(?!\S) written to start with a class so that
# re scans for it in C (the lookbehind, moved past the first character, tests the same).
_SYMBOL_TOKEN = re.compile(r"[^\w\s](?<!\S[^\w\s])[^\w\s]*(?!\S)")
_PUNCT_CHAR = re.compile(r"[^\w\s]")
_ALPHA_TOKEN = re.compile(r"(?<!\S)\S*?[^\W\d_]\S*")  # a token with a letter in it
_STRIP = string.punctuation + "“”‘’«»…–—¿¡"
_BULLETS = ("•", "●", "◦", "▪", "‣", "-", "*")
_ELLIPSES = ("...", "…")


class WordStats:
    """Counts over the whitespace words of one text, from one pass split in two."""

    def __init__(self, words: list[str]) -> None:
        self.n_tokens = len(words)
        other = list(filterfalse(str.isalpha, words))  # words with a non-letter in them
        joined = " ".join(other)
        self.other = other
        n_symbol = len(_SYMBOL_TOKEN.findall(joined))
        self.n_words = self.n_tokens - n_symbol  # not counting symbol-only tokens
        self.n_alpha = self.n_tokens - len(other) + len(_ALPHA_TOKEN.findall(joined))
        self.letters = sum(map(len, words)) - len(_PUNCT_CHAR.findall(joined))


def mean_word_length(stats: WordStats) -> float:
    """Mean length of words, punctuation characters not counted."""
    return stats.letters / stats.n_words if stats.n_words else 0.0


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


def alpha_words_ratio(stats: WordStats) -> float:
    """Share of whitespace tokens with at least one alphabetic character."""
    return stats.n_alpha / stats.n_tokens if stats.n_tokens else 0.0


def _lower_forms(c: str) -> tuple[str, ...]:
    """Every character whose lower case is the ASCII character ``c`` (tests check it over
    all of Unicode: the upper case, and the Kelvin sign for "k")."""
    return (c, c.upper(), "\u212a") if c == "k" else (c, c.upper()) if c.isalpha() else (c,)


@lru_cache(maxsize=8)
def case_variants(stop_words: frozenset[str]) -> frozenset[str] | None:
    """Every word whose lower case is one of the (lower-case) ``stop_words``, so that a set
    lookup replaces a lower() per word; None where that set is not small and exact
    (non-ASCII stop words: multi-character and context-dependent lower cases)."""
    out: set[str] = set()
    for word in stop_words:
        forms = [_lower_forms(c) for c in word]
        if not word.isascii() or word != word.lower() or prod(map(len, forms)) > 4096:
            return None
        out.update(map("".join, product(*forms)))
    return frozenset(out)


def stop_word_count(words: list[str], other: list[str], stop_words: frozenset[str]) -> int:
    """Words equal to a stop word, ignoring case and surrounding punctuation."""
    variants = case_variants(stop_words)
    if variants is not None:
        plain = sum(map(variants.__contains__, words))
    else:
        plain = sum(map(stop_words.__contains__, map(str.lower, words)))
    stripped = sum(
        map(stop_words.__contains__, map(str.lower, map(str.strip, other, repeat(_STRIP))))
    )
    return plain + stripped


def measure(view: TextView, cfg: GopherQualityConfig) -> dict[str, float]:
    stats = WordStats(view.words)
    n_words = stats.n_words
    hashes, ellipses = symbol_ratios(view.text, n_words)
    bullets, end_ellipsis = line_ratios(view.lines)
    stop = frozenset(w.lower() for w in cfg.stop_words)
    return {
        "gopher_words": float(n_words),
        "gopher_mean_word_length": mean_word_length(stats),
        "gopher_hash_ratio": hashes,
        "gopher_ellipsis_ratio": ellipses,
        "gopher_bullet_lines_ratio": bullets,
        "gopher_ellipsis_lines_ratio": end_ellipsis,
        "gopher_alpha_words_ratio": alpha_words_ratio(stats),
        "gopher_stop_words": float(stop_word_count(view.words, stats.other, stop)),
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
