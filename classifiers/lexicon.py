"""The cue vocabulary of both edu scorers: words that explain and words that sell.

One table per cue. Each term says which scorer's features count it: the teacher
(``classifiers.features``) matches terms as case-insensitive phrases in the text
(``teacher_pattern``); the static student (``classifiers.static``) looks them up among
its lower-cased word tokens (``student_words``), so only single tokens apply to it.
The shipped models were fitted with exactly these tags: changing one changes their
predictions, so retrain both (``make train-edu``) when you do.
"""

from __future__ import annotations

import re

TEACHER, STUDENT = "teacher", "student"
BOTH = (TEACHER, STUDENT)
T, S = (TEACHER,), (STUDENT,)

# Teacher terms keep the order of the regex the shipped teacher was fitted with.
EXPLAIN: dict[str, tuple[str, ...]] = {
    "because": BOTH,
    "therefore": BOTH,
    "for example": T,
    "e.g.": T,
    "such as": T,
    "means": BOTH,
    "defined": BOTH,
    "definition": S,
    "called": BOTH,
    "thus": BOTH,
    "in other words": T,
    "consider": BOTH,
    "suppose": BOTH,
    "example": BOTH,
    "step": BOTH,
    "steps": S,
    "function": BOTH,
    "method": BOTH,
    "theory": BOTH,
    "explain": S,
    "explains": S,
    "equation": S,
    "formula": S,
}

PROMO: dict[str, tuple[str, ...]] = {
    "buy": BOTH,
    "price": BOTH,
    "prices": S,
    "sale": BOTH,
    "shop": BOTH,
    "cart": BOTH,
    "order now": T,
    "order": S,
    "click": BOTH,
    "subscribe": BOTH,
    "login": BOTH,
    "sign up": T,
    "cookie": BOTH,
    "cookies": S,
    "free shipping": T,
    "shipping": S,
    "discount": BOTH,
    "©": BOTH,
    "copyright": BOTH,
    "all rights reserved": T,
    "reserved": S,
    "posted by": T,
    "posted": S,
    "comment": BOTH,
    "comments": BOTH,
}


def teacher_pattern(table: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """The teacher's matcher: any teacher term as a whole phrase, ignoring case."""
    terms = [re.escape(t) for t, users in table.items() if TEACHER in users]
    return re.compile(r"\b(?:" + "|".join(terms) + r")\b", re.I)


def student_words(table: dict[str, tuple[str, ...]]) -> frozenset[str]:
    """The student's lookup set: its terms as lower-cased word tokens."""
    return frozenset(t for t, users in table.items() if STUDENT in users)
