"""Config of MinHash near-duplicate removal."""

from __future__ import annotations

from corpus.config_base import Section


class DedupConfig(Section):
    enabled: bool = True
