"""Fixtures for reader tests (builders live in ``warc_fixtures``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.corpus.readers.warc_fixtures import WarcBuilder


@pytest.fixture
def warc_builder(tmp_path: Path) -> Callable[..., WarcBuilder]:
    def make(name: str = "shard.warc.gz", gzip: bool | None = None) -> WarcBuilder:
        return WarcBuilder(tmp_path / name, name.endswith(".gz") if gzip is None else gzip)

    return make
