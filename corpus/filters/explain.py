"""Every rule's value, threshold and verdict for one text: how users tune the filters.

The final verdict comes from running ``FilterStage`` itself on a one-row batch, so
it cannot drift from what the pipeline decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.filters.config import FilterConfig
from corpus.filters.quality import QualityRules
from corpus.filters.rules import CheckResult
from corpus.filters.stage import FilterStage


@dataclass
class Explanation:
    lang: str | None
    lang_score: float | None
    results: list[tuple[str, CheckResult]]  # (family, result) for every enabled rule
    values: dict[str, float]
    drop_stage: str | None
    drop_reason: str | None
    text: str  # the text the pipeline would keep (after C4's line removal)


def explain(
    text: str, config: FilterConfig | None = None, stage: FilterStage | None = None
) -> Explanation:
    stage = stage or FilterStage(config)
    cfg = stage.config
    batch = stage.process({"id": ["explain"], "text": [text]})
    assessment = QualityRules(cfg).assess(text, explain=True) if text.strip() else None
    return Explanation(
        lang=batch["lang"][0],
        lang_score=batch["lang_score"][0],
        results=assessment.results if assessment else [],
        values=assessment.values if assessment else {},
        drop_stage=batch["drop_stage"][0],
        drop_reason=batch["drop_reason"][0],
        text=batch["text"][0],
    )


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.4f}"


def format_explanation(e: Explanation, cfg: FilterConfig) -> str:
    lines = []
    if cfg.langid.enabled:
        wanted = ", ".join(cfg.languages) or "any"
        lines.append(
            f"language  {e.lang or '-'}  score {_fmt(e.lang_score)}  "
            f"(keep: {wanted}; min score {cfg.min_lang_score})"
        )
    else:
        lines.append("language  (language ID disabled)")
    header = (
        f"{'rule (drop_reason)':<30} {'quality key':<28} {'value':>10}  fails if"
        f" {'threshold':>10}  verdict"
    )
    lines += ["", header, "-" * len(header)]
    family_now = None
    for family, r in e.results:
        if family != family_now:
            lines.append(f"[{family}]")
            family_now = family
        c = r.check
        if c.threshold is None:
            verdict, op, thr = "off", "", "-"
        elif c.exempt is not None and r.value == c.exempt:
            verdict, op, thr = f"pass (exempt at {_fmt(c.exempt)})", c.op, _fmt(c.threshold)
        else:
            verdict, op, thr = ("FAIL" if r.failed else "pass"), c.op, _fmt(c.threshold)
        lines.append(
            f"{c.reason:<30} {c.key:<28} {_fmt(r.value):>10}  {op:>8} {thr:>10}  {verdict}"
        )
    shown = {r.check.key for _, r in e.results}
    extra = {k: v for k, v in e.values.items() if k not in shown}
    if extra:
        lines.append("")
        lines.append("also measured: " + ", ".join(f"{k}={_fmt(v)}" for k, v in extra.items()))
    lines.append("")
    if e.drop_reason is None:
        lines.append("final: KEEP")
    else:
        lines.append(f"final: DROP  drop_stage={e.drop_stage}  drop_reason={e.drop_reason}")
    return "\n".join(lines)
