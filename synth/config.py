"""Config of synthetic textbook generation."""

from __future__ import annotations

from corpus.config_base import Section


class SynthConfig(Section):
    enabled: bool = False
