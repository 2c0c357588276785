"""Student-then-teacher scoring: the student decides the clear cases.

Most web pages are obviously not teaching material (half the random pages
score 0), and the student can say so at thousands of documents per second.
Only documents whose student score falls in ``[low, high)`` are embedded and
scored by the teacher; the others keep the student's score.

The static student (``classifiers.static``) matches the teacher's
cross-validated F1 at the keep cut by itself, so the default band is a narrow
one around 3.0 (``DEFAULT_LOW``/``DEFAULT_HIGH``, measured in the model card):
at ~20 docs/s a teacher share above ~1% would cap the cascade below 2,000 docs/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.config import CascadeConfig
from classifiers.model import EduModel

DEFAULT_LOW = CascadeConfig.model_fields["low"].default
DEFAULT_HIGH = CascadeConfig.model_fields["high"].default


def in_band(student: np.ndarray, low: float, high: float) -> np.ndarray:
    """Documents the student is unsure about (``low <= s < high``): the teacher's share."""
    return (student >= low) & (student < high)


@dataclass
class CascadeResult:
    scores: np.ndarray  # final float score per text
    student: np.ndarray  # the student's score per text
    to_teacher: np.ndarray  # bool: the teacher scored this text


def cascade_predict(
    model: EduModel,
    texts: Sequence[str],
    low: float = DEFAULT_LOW,
    high: float = DEFAULT_HIGH,
    student: Sequence[float | None] | None = None,
) -> CascadeResult:
    """Scores with the student, re-scoring the uncertain band ``low <= s < high`` by the teacher.

    ``student``: the student's scores where already known (ingest computes them; None or
    NaN where not): only the others are predicted here.
    """
    if model.student is None:
        raise ValueError("this model has no cascade student; retrain with --student static")
    if student is None:
        student = np.asarray(model.student.predict(texts)) if len(texts) else np.zeros(0)
    else:
        student = np.array([np.nan if s is None else s for s in student], dtype=float)
        miss = np.flatnonzero(np.isnan(student))
        if len(miss):
            student[miss] = model.student.predict([texts[i] for i in miss])
    unsure = in_band(student, low, high)
    scores = student.copy()
    idx = np.flatnonzero(unsure)
    if len(idx):
        scores[idx] = model.predict([texts[i] for i in idx])
    return CascadeResult(scores=scores, student=student, to_teacher=unsure)
