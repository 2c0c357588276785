"""The cascade student's scores that ingest stores for the classify step (``edu_student``).

Light on purpose (no scikit-learn, no torch): the driver decides with it, before ingest,
whether stored scores can be used.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from classifiers.config import ClassifyConfig

SHIPPED_MODEL = Path(__file__).resolve().parent / "models" / "edu-minilm"
STUDENT_COLUMN = "edu_student"
STUDENT_TAG_KEY = b"primer.edu_student"  # ingest Parquet metadata: whose student scored it


@lru_cache(maxsize=8)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def student_tag(cfg: ClassifyConfig) -> str | None:
    """Which cascade student ingest runs (a digest of the model file), or None for a scorer
    without one (fastText, Hugging Face): stored scores are used only under the same tag."""
    path = (Path(cfg.model) if cfg.model else SHIPPED_MODEL) / "model.joblib"
    if not path.is_file():
        return None
    st = path.stat()
    return _file_digest(path, st.st_size, st.st_mtime_ns)
