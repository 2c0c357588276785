"""All heuristic rule families run over one text: the licence (boilerplate) rule on the
text as read (C4 would cut the lines holding its signature phrases), then in FineWeb's
order Gopher repetition, Gopher quality, C4, FineWeb. Splits are computed once per text and
shared; FineWeb sees the text as C4 left it (as in FineWeb's pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corpus.filters import boilerplate, c4, fineweb, gopher_quality, gopher_repetition
from corpus.filters.config import FilterConfig
from corpus.filters.rules import Check, CheckResult, TextView, evaluate, first_failure

FAMILIES = ("boilerplate", "gopher_repetition", "gopher_quality", "c4", "fineweb")


@dataclass
class Assessment:
    values: dict[str, float]  # every measured value, stable snake_case keys
    text: str  # the text after C4's line removal (the input if nothing changed)
    reason: str | None  # the first failing rule, None if the text passes
    results: list[tuple[str, CheckResult]] = field(default_factory=list)  # explain only


class QualityRules:
    """Thresholds resolved once from the config; ``assess`` is the per-document call."""

    def __init__(self, cfg: FilterConfig | None = None) -> None:
        self.cfg = cfg = cfg or FilterConfig()
        self.checks: dict[str, list[Check]] = {
            name: module.checks(getattr(cfg, name))
            for name, module in _MODULES.items()
            if getattr(cfg, name).enabled
        }

    def assess(self, text: str, explain: bool = False) -> Assessment:
        cfg = self.cfg
        view = TextView(text)
        out = Assessment(values={}, text=text, reason=None)
        for name, checks in self.checks.items():
            if name == "c4":
                values, edited = c4.measure(view, cfg.c4)
                if cfg.c4.edit_text and edited != text:
                    out.text = edited
                    view = TextView(edited)
            else:
                values = _MODULES[name].measure(view, getattr(cfg, name))
            out.values.update(values)
            if explain:
                out.results.extend((name, r) for r in evaluate(checks, values))
            if out.reason is None:
                out.reason = first_failure(checks, values)
            if out.reason is not None and not (cfg.measure_all or explain):
                break
        return out


_MODULES = {
    "boilerplate": boilerplate,
    "gopher_repetition": gopher_repetition,
    "gopher_quality": gopher_quality,
    "c4": c4,
    "fineweb": fineweb,
}
