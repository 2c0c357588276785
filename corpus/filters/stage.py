"""The filter stage: language ID, heuristic rules, exact-dedup hash.

Adds columns ``lang`` (str|None), ``lang_score`` (float|None), ``quality``
(dict[str, float] of every measured value, None where nothing was measured) and
``text_hash`` (signed int64 of the normalised final text, None for dropped docs).
Drops: ``drop_stage="langid"`` with reason ``empty`` (no text), ``lang:<code>``
(not a kept language) or ``low_lang_score``; ``drop_stage="quality"`` with the first
failing rule's reason (``gopher_*``, ``c4_*``, ``fineweb_*``, ``boilerplate_licence``). For kept docs whose
lines C4 removed, ``text`` holds the edited text. The run-wide exact-dedup decision
over ``text_hash`` is the pipeline's (SQL), not this stage's.
"""

from __future__ import annotations

from typing import ClassVar

from corpus.filters.config import FilterConfig
from corpus.filters.exact import exact_hash
from corpus.filters.langid import LanguageIdentifier
from corpus.filters.quality import QualityRules
from corpus.stage import (
    Batch,
    Resources,
    Stage,
    alive,
    batch_len,
    ensure_drop_columns,
    mark_dropped,
)

LANGID = "langid"
QUALITY = "quality"


def lang_reason(
    lang: str | None, score: float | None, languages: list[str], min_score: float
) -> str | None:
    """Why language ID drops a doc, or None to keep it."""
    if lang is None or score is None:
        return "empty"
    if languages and lang not in languages:
        return f"lang:{lang}"
    if score < min_score:
        return "low_lang_score"
    return None


def _measured(reason: str, cfg: FilterConfig) -> bool:
    """Whether the rules measure a document language ID dropped for ``reason``."""
    return cfg.measure_all and (cfg.measure_other_languages or not reason.startswith("lang:"))


class FilterStage(Stage):
    name: ClassVar[str] = "filters"
    resources = Resources(cpus=1.0, batch_size=512)

    def __init__(self, config: FilterConfig | None = None) -> None:
        self.config = config or FilterConfig()
        self.rules = QualityRules(self.config)
        self._lid: LanguageIdentifier | None = None

    def setup(self) -> None:
        if self.config.enabled and self.config.langid.enabled and self._lid is None:
            lc = self.config.langid
            self._lid = LanguageIdentifier(lc.model_path, lc.max_chars)

    def process(self, batch: Batch) -> Batch:
        ensure_drop_columns(batch)
        n = batch_len(batch)
        cfg = self.config
        texts = list(batch["text"])
        reason_of = batch["drop_reason"]
        lang: list[str | None] = [None] * n
        score: list[float | None] = [None] * n
        quality: list[dict[str, float] | None] = [None] * n
        rows = [i for i, ok in enumerate(alive(batch)) if ok]

        if cfg.enabled:
            live = [i for i in rows if texts[i] and not texts[i].isspace()]
            empty = sorted(set(rows) - set(live))
            mark_dropped(batch, empty, LANGID, ["empty"] * len(empty))
            if cfg.langid.enabled:
                self.setup()
                assert self._lid is not None
                dropped, why = [], []
                for i, (lg, sc) in zip(
                    live, self._lid.predict([texts[i] for i in live]), strict=True
                ):
                    lang[i], score[i] = lg, sc
                    reason = lang_reason(lg, sc, cfg.languages, cfg.min_lang_score)
                    if reason is not None:
                        dropped.append(i)
                        why.append(reason)
                mark_dropped(batch, dropped, LANGID, why)
            dropped, why = [], []
            for i in live:
                langid_dropped = reason_of[i] is not None
                if langid_dropped and not _measured(reason_of[i], cfg):
                    continue
                result = self.rules.assess(texts[i])
                quality[i] = result.values
                if result.reason is not None:
                    dropped.append(i)
                    why.append(result.reason)
                elif not langid_dropped:
                    texts[i] = result.text
            mark_dropped(batch, dropped, QUALITY, why)
        batch["text"] = texts
        batch["lang"] = lang
        batch["lang_score"] = score
        batch["quality"] = quality
        batch["text_hash"] = [
            exact_hash(texts[i] or "") if reason_of[i] is None else None for i in range(n)
        ]
        return batch
