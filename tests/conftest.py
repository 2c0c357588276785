"""Shared fixtures. ``shared_data`` is the only way tests reach ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

SHARED = Path(
    os.environ.get("PRIMER_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test cleanly when it is absent."""
    data = SHARED.resolve() / "data"
    if not data.is_dir():
        pytest.skip("../shared/data is absent")
    return data
