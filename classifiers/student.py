"""Old import path of the teacher's n-gram ridge and the fastText student (kept, not for new code).

Model files pickled before the split reference ``classifiers.student._cut_lower`` (the
shipped edu-minilm and edu-code models) and possibly ``FastTextScorer``; new code imports
``classifiers.ngram_ridge`` and ``classifiers.fasttext_student``.
"""

from classifiers.fasttext_student import FastTextScorer, ft_line
from classifiers.ngram_ridge import _cut_lower, ngram_regressor

__all__ = ["FastTextScorer", "_cut_lower", "ft_line", "ngram_regressor"]
