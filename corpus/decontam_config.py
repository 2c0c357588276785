"""Config of benchmark decontamination (``corpus.decontam``).

One model for both users: the pipeline's top-level ``decontam:`` section (web
documents) and synth's ``synth.decontam`` gate (generations). On by default
against the benchmark sets shipped in ``corpus/benchmarks``.
"""

from __future__ import annotations

from pydantic import Field

from corpus.config_base import Section
from corpus.decontam_code import CodeDecontamConfig


class DecontamConfig(Section):
    """Benchmark decontamination: exact 13-gram overlap plus a fuzzy 8-gram share."""

    enabled: bool = Field(True, description="run the decontam gate/stage")
    builtin: list[str] = Field(
        default_factory=lambda: ["gsm8k", "humaneval", "mbpp"],
        description="benchmark sets shipped in the package (`python -m corpus.benchmarks list`); "
        "[] for none",
    )
    benchmarks: list[str] = Field(
        default_factory=list,
        description="more benchmark JSONL(.gz) files or folders of them (added to `builtin`)",
    )
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="benchmark name -> text fields (default: detected)"
    )
    ngram: int = Field(
        13, ge=3, description="exact-overlap n-gram length in normalised words (GPT-3 used 13)"
    )
    fuzzy_ngram: int = Field(8, ge=2, description="n-gram length of the fuzzy check")
    fuzzy_threshold: float = Field(
        0.4,
        gt=0,
        le=1,
        description="share of an item's number-masked 8-grams in a document that flags it "
        "(bench/synth.py: 0.3-0.5 all give 0 false positives on the shared web, textbook and label texts)",
    )
    min_item_words: int = Field(
        8, ge=1, description="benchmark texts shorter than this are not indexed (too generic)"
    )
    min_alpha_share: float = Field(
        0.3,
        ge=0,
        le=1,
        description="benchmark n-grams need this share of words that are not numbers or single letters",
    )

    code: CodeDecontamConfig = Field(
        default_factory=CodeDecontamConfig,
        description="code-profile documents and code exercises: AST + docstring-embedding check",
    )

    @property
    def active(self) -> bool:
        """Whether there is anything to check against (a stage that would run)."""
        return self.enabled and bool(self.builtin or self.benchmarks)
