"""Config of the filter stage (language ID, heuristic rules, exact dedup)."""

from __future__ import annotations

from corpus.config_base import Section


class FilterConfig(Section):
    enabled: bool = True
