"""Texts and config helpers shared by the filter tests."""

from __future__ import annotations

from corpus.filters.config import FilterConfig
from corpus.filters.quality import FAMILIES, QualityRules

# Plain, varied English prose: passes every rule family with default thresholds.
GOOD_TEXT = """The history of the printing press begins in the fifteenth century.
Johannes Gutenberg combined a screw press with movable metal type and an oil-based ink.
His workshop in Mainz produced a famous Bible that collectors still admire today.

Printing spread quickly to other cities, and the price of books fell sharply.
Scholars could compare identical copies, which changed how knowledge was shared.
Literacy rose as pamphlets, newspapers and cheap editions reached ordinary readers.

Historians often argue that the press helped the Reformation and the scientific revolution.
Whatever the exact causes, few inventions have had such a lasting effect on culture."""


def only(family: str, **thresholds) -> FilterConfig:
    """A config with only ``family`` enabled (others off), with threshold overrides."""
    cfg = FilterConfig()
    for name in FAMILIES:
        getattr(cfg, name).enabled = name == family
    section = getattr(cfg, family)
    for key, value in thresholds.items():
        setattr(section, key, value)
    return cfg


def reason(text: str, cfg: FilterConfig) -> str | None:
    return QualityRules(cfg).assess(text).reason
