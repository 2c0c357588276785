"""Config of the educational-value classify stage."""

from __future__ import annotations

from corpus.config_base import Section


class ClassifyConfig(Section):
    enabled: bool = True
