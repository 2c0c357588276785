"""C4 line filters (Raffel et al. 2020, JMLR 21:140, section 2.2; TFDS ``c4_utils.py``).

Decision: like C4, the filter EDITS the text: lines that fail a line rule are
removed and the stage puts the edited text back in ``text`` (``c4_lines_removed``
records how many went). ``C4Config.edit_text=False`` only counts them. Document-level
verdicts (lorem ipsum, curly bracket, fewer than 3 sentences in the kept lines) are
the same in both modes. Unlike C4, a blank line between kept lines survives as a
paragraph break, so later paragraph-level rules still see paragraphs.

Rule order per line follows datatrove's ``c4_filters.py``: long word, citations
stripped, terminal punctuation, words per line, lorem ipsum, javascript, curly
bracket, policy phrases. Sentences are counted with a regex (datatrove: NLTK punkt).
"""

from __future__ import annotations

import re

from corpus.filters.config import C4Config
from corpus.filters.rules import Check, TextView

_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_END_PUNCT = (".", "?", "!", '"')  # TFDS _END_MARKS
_POLICY = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
# Written to start with a character class: re then scans for that class in C instead of
# trying the whole pattern at every position (same matches: X+ is XX*, and a lookbehind
# moved past the first character tests the same characters).
_SENTENCE_END = re.compile(r"[.!?][.!?]*[\"'”’)\]]*(?=\s|$)")  # [.!?]+[\"'”’)\]]*(?=\s|$)


def sentence_count(line: str) -> int:
    """Sentences in one line: runs of . ! ? followed by space or end; at least 1."""
    return max(1, len(_SENTENCE_END.findall(line)))


def line_verdict(line: str, cfg: C4Config) -> tuple[str | None, str]:
    """(why the line goes or None, the line after citation removal), for one stripped line."""
    as_read = line  # words are counted before citation removal; split only when needed
    limit = cfg.max_word_length
    if limit is not None and len(line) > limit and any(len(w) > limit for w in line.split()):
        return "long_word", line
    if cfg.remove_citations and "[" in line:
        line = _CITATION.sub("", line).rstrip()
    if cfg.filter_no_terminal_punct and (not line.endswith(_END_PUNCT) or line.endswith("...")):
        return "no_terminal_punct", line
    if cfg.min_words_per_line is not None and len(as_read.split()) < cfg.min_words_per_line:
        return "few_words", line
    return None, line


def _phrases(cfg: C4Config) -> tuple[str, ...]:
    """What the per-line checks look for in a line's lower case."""
    return (
        ("lorem ipsum",)
        + (("javascript",) if cfg.filter_javascript else ())
        + (_POLICY if cfg.filter_policy else ())
    )


def measure(view: TextView, cfg: C4Config) -> tuple[dict[str, float], str]:
    """C4's measured values and the text with failing lines removed."""
    kept: list[str] = []
    n_lines = removed = sentences = 0
    lorem = curly = False
    gap = False  # a blank line since the last kept line
    # The phrases are ASCII and a line's lower case is a slice of the text's, so a text
    # whose lower case holds none of them needs no per-line lower(). Not where citation
    # removal could join "java[1]script" into one.
    phrases = _phrases(cfg) if "[" not in view.text or not cfg.remove_citations else ()
    look = not phrases or any(p in view.lower for p in phrases)
    for raw in view.lines:
        line = raw.strip()
        if not line:
            gap = True
            continue
        n_lines += 1
        why, line = line_verdict(line, cfg)
        if why is None and not look:
            if "{" in line:
                curly = True
        elif why is None:
            lower = line.lower()
            if "lorem ipsum" in lower:
                lorem = True
            if cfg.filter_javascript and "javascript" in lower:
                why = "javascript"
            elif "{" in line:
                curly = True
            if why is None and cfg.filter_policy and any(p in lower for p in _POLICY):
                why = "policy"
        if why is not None:
            removed += 1
            continue
        sentences += sentence_count(line)
        if gap and kept:
            kept.append("")
        gap = False
        kept.append(line)
    values = {
        "c4_lines": float(n_lines),
        "c4_lines_removed": float(removed),
        "c4_sentences": float(sentences),
        "c4_lorem_ipsum": float(lorem),
        "c4_curly_bracket": float(curly),
    }
    return values, "\n".join(kept)


def checks(cfg: C4Config) -> list[Check]:
    return [
        Check("c4_lorem_ipsum", "c4_lorem_ipsum", ">", 0 if cfg.filter_lorem_ipsum else None),
        Check("c4_curly_bracket", "c4_curly_bracket", ">", 0 if cfg.filter_curly_bracket else None),
        Check("c4_too_few_sentences", "c4_sentences", "<", cfg.min_num_sentences),
    ]
