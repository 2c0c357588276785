"""``primer report``: one self-contained HTML page that shows what a run's corpus is.

Every figure is one query of ``pipelines.report_sql`` over the ledger, drawn with
Plotly (its JavaScript inlined by ``pipelines.report_html``, so the page opens
offline). With ``compare`` the same blocks show two runs side by side.
Text taken from documents (labels, first lines, excerpts) is escaped: in HTML by
the page, and in plot labels here (Plotly reads ``<b>``-style markup in strings).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from corpus.ledger import FUNNEL_STAGES
from pipelines import report_html
from pipelines import report_sql as q
from pipelines.report_sql import Result, Run

KEPT, DROPPED, OTHER = "#2a9d8f", "#e76f51", "#8d99ae"
# One color per stage, the same in every run of a comparison.
_PALETTE = [
    "#8d99ae", "#2a9d8f", "#e76f51", "#6a4c93", "#b5838d", "#9c6644", "#f4a261", "#e9c46a",
    "#264653", "#5e548e",
]  # fmt: skip
# "code" is inserted after "quality" only in runs with a code profile.
STAGE_COLORS = dict(zip((*FUNNEL_STAGES, "code"), _PALETTE, strict=True))
HEIGHT = 380


def label(value: Any) -> str:
    """A data value as a plot label: Plotly renders pseudo-HTML in strings, so escape it."""
    return html.escape("(none)" if value is None else str(value), quote=False)


def _layout(fig: go.Figure, **kw: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=kw.pop("height", HEIGHT),
        margin={"l": 60, "r": 20, "t": 40, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02},
        **kw,
    )
    return fig


def _kept_dropped(rows: list[dict], x: str, width: float | None = None) -> list[go.Bar]:
    """Two stacked traces from rows of (x, kept, documents)."""
    traces = []
    for flag, name, color in ((True, "kept", KEPT), (False, "dropped", DROPPED)):
        sel = [r for r in rows if r["kept"] is flag]
        traces.append(
            go.Bar(
                x=[r[x] for r in sel],
                y=[r["documents"] for r in sel],
                name=name,
                marker_color=color,
                width=width,
            )
        )
    return traces


@dataclass
class Context:
    """What a figure needs beyond its rows: the run's recorded config."""

    config: dict[str, Any]

    @property
    def min_edu(self) -> float | None:
        classify = self.config.get("classify") or {}
        return classify.get("min_edu_score") if classify.get("enabled", True) else None

    def checks(self) -> dict[str, Any]:
        """Drop reason -> the quality rule's Check (key, op, threshold) from the run's config."""
        from corpus.filters.config import FilterConfig
        from corpus.filters.quality import QualityRules

        try:
            cfg = FilterConfig.model_validate(self.config.get("filters") or {})
        except ValueError:  # a config written by another version: no cut to draw
            return {}
        return {c.reason: c for checks in QualityRules(cfg).checks.values() for c in checks}


def fig_funnel(res: Result, ctx: Context) -> go.Figure:
    rows = res.dicts()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("documents remaining", "tokens remaining"))
    stages = [r["stage"] for r in rows]
    fig.add_bar(
        x=stages,
        y=[r["documents"] for r in rows],
        text=[r["documents"] for r in rows],
        customdata=[r["dropped"] for r in rows],
        hovertemplate="%{x}: %{y} remaining, %{customdata} dropped<extra></extra>",
        marker_color=KEPT,
        name="documents",
        row=1,
        col=1,
    )
    fig.add_bar(
        x=stages,
        y=[r["tokens"] for r in rows],
        marker_color="#264653",
        name="tokens (counted after the quality rules)",
        row=1,
        col=2,
    )
    return _layout(fig, showlegend=False)


def fig_drop_reasons(res: Result, ctx: Context) -> go.Figure:
    rows = sorted(res.dicts(), key=lambda r: r["documents"])
    fig = go.Figure()
    for stage in dict.fromkeys(r["stage"] for r in reversed(rows)):
        sel = [r for r in rows if r["stage"] == stage]
        fig.add_bar(
            y=[f"{label(r['stage'])} · {label(r['reason'])}" for r in sel],
            x=[r["documents"] for r in sel],
            orientation="h",
            name=label(stage),
            marker_color=STAGE_COLORS.get(stage),
        )
    fig.update_yaxes(categoryorder="total ascending")
    return _layout(fig, height=max(HEIGHT, 26 * len(rows) + 100), xaxis_title="documents")


def _cut(fig: go.Figure, x: float | None, text: str) -> None:
    if x is not None:
        fig.add_vline(x=x, line_dash="dash", line_color="#222", annotation_text=text)


def fig_edu(res: Result, ctx: Context) -> go.Figure:
    rows = [{**r, "bin": r["bin"] + 0.125} for r in res.dicts()]
    fig = go.Figure(_kept_dropped(rows, "bin", width=0.25))
    _cut(fig, ctx.min_edu, f"cut {ctx.min_edu}")
    return _layout(fig, barmode="stack", xaxis_title="edu score", yaxis_title="documents")


def fig_token_yield(res: Result, ctx: Context) -> go.Figure:
    rows = res.dicts()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = [r["threshold"] for r in rows]
    fig.add_scatter(x=x, y=[r["tokens"] for r in rows], name="tokens kept", mode="lines+markers")
    fig.add_scatter(
        x=x,
        y=[r["documents"] for r in rows],
        name="documents kept",
        mode="lines+markers",
        line_dash="dot",
        secondary_y=True,
    )
    _cut(fig, ctx.min_edu, f"current cut {ctx.min_edu}")
    fig.update_yaxes(title_text="tokens", secondary_y=False)
    fig.update_yaxes(title_text="documents", secondary_y=True)
    return _layout(fig, xaxis_title="minimum edu score")


def fig_languages(res: Result, ctx: Context) -> go.Figure:
    rows = res.dicts()
    long = [{"lang": label(r["lang"]), "kept": k, "documents": r["kept" if k else "dropped"]}
            for r in rows for k in (True, False)]  # fmt: skip
    return _layout(go.Figure(_kept_dropped(long, "lang")), barmode="stack", yaxis_title="documents")


def fig_domains(res: Result, ctx: Context) -> go.Figure:
    rows = list(reversed(res.dicts()))
    fig = go.Figure(
        go.Bar(
            y=[label(r["domain"]) for r in rows],
            x=[r["kept_tokens"] for r in rows],
            customdata=[r["kept_documents"] for r in rows],
            hovertemplate="%{y}: %{x} tokens in %{customdata} documents<extra></extra>",
            orientation="h",
            marker_color=KEPT,
        )
    )
    return _layout(fig, height=max(HEIGHT, 24 * len(rows) + 100), xaxis_title="kept tokens")


def fig_sources(res: Result, ctx: Context) -> go.Figure:
    long = [
        {"src": f"{label(r['kind'])}: {label(r['source'])}", "kept": k, "documents": r[col]}
        for r in res.dicts()
        for k, col in ((True, "kept"), (False, "dropped"))
    ]
    return _layout(go.Figure(_kept_dropped(long, "src")), barmode="stack", yaxis_title="documents")


def fig_lengths(res: Result, ctx: Context) -> go.Figure:
    rows = [{**r, "x": r["log10_chars"] + 0.1} for r in res.dicts()]
    fig = go.Figure(_kept_dropped(rows, "x", width=0.2))
    ticks = list(range(0, 8))
    fig.update_xaxes(tickvals=ticks, ticktext=[f"{10**t:,}" for t in ticks])
    return _layout(
        fig, barmode="stack", xaxis_title="characters (log scale)", yaxis_title="documents"
    )


def fig_cluster_sizes(res: Result, ctx: Context) -> go.Figure:
    rows = res.dicts()
    fig = go.Figure(
        go.Bar(
            x=[str(r["size"]) for r in rows],
            y=[r["clusters"] for r in rows],
            customdata=[r["documents"] for r in rows],
            hovertemplate="size %{x}: %{y} clusters (%{customdata} documents)<extra></extra>",
            marker_color=OTHER,
        )
    )
    fig.update_xaxes(type="category", title="cluster size (documents)")
    fig.update_yaxes(type="log", title="clusters (log scale)")
    return _layout(fig)


def rule_figure(res: Result, check: Any) -> go.Figure:
    rows = [{**r, "x": r["bin_start"] + r["width"] / 2} for r in res.dicts()]
    fig = go.Figure()
    for flag, name, color in ((True, "dropped by this rule", DROPPED), (False, "other", OTHER)):
        sel = [r for r in rows if r["by_rule"] is flag]
        fig.add_bar(
            x=[r["x"] for r in sel],
            y=[r["documents"] for r in sel],
            width=[r["width"] for r in sel],
            name=name,
            marker_color=color,
        )
    _cut(fig, check.threshold, f"fails if {check.op} {check.threshold:g}")
    # log counts, overlaid: a rule often drops a few documents next to a tall mode
    fig.update_traces(opacity=0.8)
    fig.update_yaxes(type="log", title="documents (log scale)")
    return _layout(fig, barmode="overlay", xaxis_title=check.key)


@dataclass
class Spec:
    key: str
    title: str
    note: str
    sql: str
    figure: Callable[[Result, Context], go.Figure] | None = None  # None: a table block


FIGURES = [
    Spec("funnel", "Funnel", "Documents and tokens remaining after each stage (tokens are counted after the quality rules: none before).", q.FUNNEL, fig_funnel),
    Spec("drop-reasons", "Drop reasons", "Why documents went, per stage.", q.DROP_REASONS, fig_drop_reasons),
    Spec("edu", "Edu scores", "Classifier scores of the documents that reached it (bins of 0.25).", q.EDU_HISTOGRAM, fig_edu),
    Spec("token-yield", "Token yield", "Tokens and documents a cut at each edu threshold keeps.", q.TOKEN_YIELD, fig_token_yield),
    Spec("languages", "Languages", "Fifteen most frequent languages.", q.LANGUAGES, fig_languages),
    Spec("domains", "Top domains", "Twenty domains with the most kept tokens.", q.DOMAINS, fig_domains),
    Spec("sources", "Source mix", "Web vs synthetic, and each input.", q.SOURCES, fig_sources),
    Spec("lengths", "Document length", "Characters per document (five bins per decade).", q.LENGTHS, fig_lengths),
    Spec("cluster-sizes", "Near-duplicate clusters", "How many clusters of each size.", q.CLUSTER_SIZES, fig_cluster_sizes),
]  # fmt: skip

TABLES = [
    Spec("largest-clusters", "Five largest clusters", "Members (kept first) with their first lines.", q.LARGEST_CLUSTERS),
    Spec("samples-edu", "Kept samples per edu level", f"{q.SAMPLES_PER_GROUP} seeded-random kept documents per level, first {q.EXCERPT_CHARS} characters.", q.SAMPLES_EDU),
    Spec("samples-dropped", "Dropped samples per reason", f"{q.SAMPLES_PER_GROUP} seeded-random documents per drop reason, first {q.EXCERPT_CHARS} characters.", q.SAMPLES_DROPPED),
    Spec("rejects", "Rejected input", "Records that could not be parsed.", q.REJECTS),
    Spec("runs", "Runs", "Config, versions, counts and timings of every run into this output.", q.RUNS),
]  # fmt: skip

SECTIONS = [
    ("Where the documents went", ["funnel", "drop-reasons"]),
    ("Educational value", ["edu", "token-yield", "samples-edu"]),
    ("What the corpus is made of", ["languages", "domains", "sources", "lengths"]),
    ("Near duplicates", ["cluster-sizes", "largest-clusters"]),
    ("Quality rules", ["quality-rules"]),
    ("Dropped documents", ["samples-dropped", "rejects"]),
    ("Runs", ["runs"]),
]

MAX_MEMBERS = 8


def _members(members: list[dict]) -> str:
    lines = [
        f"{'kept' if m['kept'] else 'dropped'} · {m['id']} · {m['first_line'] or ''}"
        for m in members[:MAX_MEMBERS]
    ]
    if len(members) > MAX_MEMBERS:
        lines.append(f"... {len(members) - MAX_MEMBERS} more")
    return "\n".join(lines)


def _table_result(spec: Spec, run: Run) -> Result:
    res = run.samples(spec.sql) if "{texts}" in spec.sql else run.query(spec.sql)
    if spec.key == "largest-clusters":
        res.rows = [(c, s, _members(m)) for c, s, m in res.rows]
    if spec.key == "runs":  # JSON columns shown indented
        res.rows = [
            tuple(
                json.dumps(json.loads(v), indent=1) if i >= 6 and v else v for i, v in enumerate(r)
            )
            for r in res.rows
        ]
    return res


@dataclass
class Block:
    """One figure or table across the compared runs (index i is run i)."""

    key: str
    title: str
    note: str
    sql: str
    results: list[Result] = field(default_factory=list)
    figures: list[dict | None] = field(default_factory=list)  # Plotly JSON; None: no rows
    is_table: bool = False


def _figure_json(fig: go.Figure) -> dict:
    return json.loads(fig.to_json(validate=False))


def quality_blocks(runs: list[Run], contexts: list[Context]) -> list[Block]:
    """One block per rule that dropped the most in the first run, cut from each run's config."""
    top = runs[0].query(q.TOP_QUALITY_RULES)
    blocks = []
    for rule, n in top.rows:
        checks = [ctx.checks().get(rule) for ctx in contexts]
        if checks[0] is None or checks[0].threshold is None:
            continue
        c = checks[0]
        sql = q.rule_values_sql(rule, c.key, c.threshold)
        block = Block(
            f"rule-{rule}",
            f"{rule}: {c.key}",
            f"Dropped {n} documents in {runs[0].label}; the line is the threshold "
            f"(a document fails if {c.key} {c.op} {c.threshold:g}).",
            sql,
        )
        for run, check in zip(runs, checks, strict=True):
            check = check or c
            res = run.query(q.rule_values_sql(rule, check.key, check.threshold))
            block.results.append(res)
            block.figures.append(_figure_json(rule_figure(res, check)) if res.rows else None)
        blocks.append(block)
    return blocks


def build_blocks(runs: list[Run]) -> dict[str, list[Block]]:
    contexts = [Context(run.latest_config()) for run in runs]
    blocks: dict[str, list[Block]] = {}
    for spec in FIGURES:
        block = Block(spec.key, spec.title, spec.note, spec.sql)
        for run, ctx in zip(runs, contexts, strict=True):
            res = run.query(spec.sql)
            block.results.append(res)
            block.figures.append(_figure_json(spec.figure(res, ctx)) if res.rows else None)
        blocks[spec.key] = [block]
    for spec in TABLES:
        block = Block(spec.key, spec.title, spec.note, spec.sql, is_table=True)
        block.results = [_table_result(spec, run) for run in runs]
        blocks[spec.key] = [block]
    blocks["quality-rules"] = quality_blocks(runs, contexts)
    return blocks


def write_report(out: Path, compare: Path | None = None, dest: Path | None = None) -> Path:
    """Write the page (default ``OUT/report.html``) atomically; returns its path."""
    outs = [Path(out)] + ([Path(compare)] if compare else [])
    labels = [p.resolve().name or str(p) for p in outs]
    if len(set(labels)) < len(labels):
        labels = [str(p) for p in outs]
    runs: list[Run] = []
    try:
        for p, name in zip(outs, labels, strict=True):
            runs.append(Run(p, name))
        summaries = [run.query(q.SUMMARY) for run in runs]
        blocks = build_blocks(runs)
    finally:
        for run in runs:
            run.close()
    page = report_html.page(
        labels=labels,
        summaries=summaries,
        sections=[(title, [b for key in keys for b in blocks[key]]) for title, keys in SECTIONS],
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    dest = Path(dest) if dest else Path(out) / "report.html"
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, dest)
    return dest
