"""FineWeb quality ratios (Penedo et al. 2024, arXiv:2406.17557, section 3.3).

Comparisons and defaults as in datatrove's ``fineweb_quality_filter.py``. Lines are
the non-blank lines (datatrove's first version also counted blank ones) and a line's
trailing whitespace is ignored when checking its final character. Terminal
characters add the CJK full-width stops to datatrove's . ' " ! ? so that kept
non-English languages are not all dropped for lack of ASCII punctuation.
"""

from __future__ import annotations

from corpus.filters.config import FineWebConfig
from corpus.filters.rules import Check, TextView, find_duplicates

_STOP_CHARS = (".", "'", '"', "!", "?", "。", "！", "？")


def line_punct_ratio(lines: list[str]) -> float:
    if not lines:
        return 0.0
    return sum(1 for s in lines if s.rstrip().endswith(_STOP_CHARS)) / len(lines)


def short_line_ratio(lines: list[str], max_len: int) -> float:
    if not lines:
        return 1.0
    return sum(1 for s in lines if len(s) <= max_len) / len(lines)


def char_dup_ratio(lines: list[str], text: str) -> float:
    """Characters in lines that repeat an earlier line, over characters that are not newlines."""
    chars = len(text) - text.count("\n")
    return find_duplicates(lines)[1] / chars if chars else 0.0


def newline_ratio(text: str, n_words: int) -> float:
    return text.count("\n") / max(n_words, 1)


def measure(view: TextView, cfg: FineWebConfig) -> dict[str, float]:
    lines = view.nonblank_lines
    return {
        "fw_line_punct_ratio": line_punct_ratio(lines),
        "fw_short_line_ratio": short_line_ratio(lines, cfg.short_line_length),
        "fw_char_dup_ratio": char_dup_ratio(lines, view.text),
        "fw_newline_ratio": newline_ratio(view.text, len(view.words)),
    }


def checks(cfg: FineWebConfig) -> list[Check]:
    exempt = 0.0 if cfg.line_punct_exclude_zero else None
    return [
        Check("fineweb_line_punct_ratio", "fw_line_punct_ratio", "<=", cfg.line_punct_thr, exempt),
        Check("fineweb_short_line_ratio", "fw_short_line_ratio", ">=", cfg.short_line_thr),
        Check("fineweb_char_dup_ratio", "fw_char_dup_ratio", ">=", cfg.char_dup_ratio),
        Check("fineweb_list_ratio", "fw_newline_ratio", ">", cfg.new_line_ratio),
    ]
