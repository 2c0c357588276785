"""The report page's HTML: one file, Plotly's JavaScript inlined, no network.

Every string that comes from data goes through ``esc``. Figures travel as one JSON
data block (``<`` ``>`` ``&`` escaped, so no text can close the element) that a
single boot script hands to ``Plotly.newPlot``. A Content-Security-Policy allows
exactly the two inline scripts (by hash) and no network at all, so even text that
slipped past escaping could not run or fetch anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from datetime import date, datetime
from functools import cache
from typing import Any

from pipelines.report_sql import Result

LONG_CELL = 2000  # longer cells (a run's config) fold into <details>

BOOT = """
(function () {
  var figs = JSON.parse(document.getElementById("primer-figures").textContent);
  var ids = Object.keys(figs);
  Promise.all(ids.map(function (id) {
    return Plotly.newPlot(id, figs[id].data, figs[id].layout,
                          {displaylogo: false, responsive: true})
      .then(function () { document.getElementById(id).setAttribute("data-rendered", "1"); });
  })).then(function () {
    document.body.setAttribute("data-plots-rendered", String(ids.length));
  }, function (err) { console.error("primer report: a plot failed: " + err); });
})();
"""

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1500px; padding: 0 24px 60px; color: #222; }
h1 { margin: 24px 0 4px; } h2 { margin-top: 40px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { margin: 0 0 2px; font-size: 16px; }
.meta, .note { color: #666; margin: 2px 0 8px; }
nav a { margin-right: 14px; }
.block { margin: 18px 0 28px; }
.cols { display: grid; grid-template-columns: repeat(var(--runs), minmax(0, 1fr)); gap: 18px; }
.run-label { font-weight: 600; color: #264653; margin-bottom: 4px; }
.plot { min-height: 120px; }
.empty { color: #888; font-style: italic; padding: 16px 0; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, monospace; font-size: 12px; }
table.summary { width: auto; margin: 10px 0; }
details { margin-top: 6px; } summary { cursor: pointer; color: #2a6f97; }
pre.sql { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
.table-wrap { max-height: 640px; overflow: auto; }
"""

SUMMARY_LABELS = {
    "documents": "documents read",
    "kept": "documents kept",
    "kept_tokens": "tokens kept",
    "kept_chars": "characters kept",
    "inputs": "input files",
    "rejects": "unparseable records",
}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def cell(value: Any) -> str:
    """One table cell: numbers right-aligned with their raw value, text escaped."""
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float):
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
        return f'<td class="num" data-value="{esc(value)}">{esc(shown)}</td>'
    if isinstance(value, datetime | date):
        return f"<td>{esc(value.isoformat(sep=' ', timespec='seconds'))}</td>"
    if isinstance(value, list | dict):
        value = json.dumps(value, default=str)
    text = "" if value is None else str(value)
    if len(text) > LONG_CELL:
        return f'<td class="text"><details><summary>show ({len(text):,} characters)</summary>{esc(text)}</details></td>'
    return f'<td class="text">{esc(text)}</td>'


def table(res: Result, run: int) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in res.columns)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in res.rows)
    return (
        f'<div class="table-wrap"><table class="rows" data-run="{run}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _sql_details(block: Any, labels: list[str], with_rows: bool) -> str:
    rows = ""
    if with_rows:
        rows = "".join(
            f'<div class="run-label">{esc(lbl)}</div>{table(res, i)}'
            for i, (lbl, res) in enumerate(zip(labels, block.results, strict=True))
        )
    what = "SQL and rows" if with_rows else "SQL"
    return (
        f'<details><summary>{what}</summary><pre class="sql">{esc(block.sql)}</pre>{rows}</details>'
    )


def render_block(block: Any, labels: list[str], figures: dict[str, dict]) -> str:
    """A figure (one plot per run) or a table (one per run), the SQL under it on demand."""
    cols = []
    for i, (lbl, res) in enumerate(zip(labels, block.results, strict=True)):
        head = f'<div class="run-label">{esc(lbl)}</div>' if len(labels) > 1 else ""
        if not res.rows:
            body = '<p class="empty">no rows</p>'
        elif block.is_table:
            body = table(res, i)
        else:
            plot_id = f"plot-{block.key}-{i}"
            figures[plot_id] = block.figures[i]
            body = f'<div class="plot" id="{esc(plot_id)}" data-block="{esc(block.key)}"></div>'
        cols.append(f'<div class="col">{head}{body}</div>')
    return (
        f'<section class="block" id="{esc(block.key)}" data-block="{esc(block.key)}">'
        f'<h3>{esc(block.title)}</h3><p class="note">{esc(block.note)}</p>'
        f'<div class="cols">{"".join(cols)}</div>'
        f"{_sql_details(block, labels, with_rows=not block.is_table)}</section>"
    )


def summary_table(labels: list[str], summaries: list[Result]) -> str:
    head = "<th></th>" + "".join(f"<th>{esc(lbl)}</th>" for lbl in labels)
    rows = []
    for col, name in SUMMARY_LABELS.items():
        tds = []
        for i, res in enumerate(summaries):
            value = res.dicts()[0][col]
            tds.append(
                f'<td class="num" data-metric="{col}" data-run="{i}" data-value="{esc(value)}">'
                f"{value:,}</td>"
            )
        rows.append(f"<tr><th>{esc(name)}</th>{''.join(tds)}</tr>")
    return f'<table class="summary"><tr>{head}</tr>{"".join(rows)}</table>'


def _json_for_html(data: Any) -> str:
    """JSON that cannot end its <script> element or be read as markup."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    for ch, sub in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, sub)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@cache
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().replace("</script", "<\\/script")


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def page(
    labels: list[str], summaries: list[Result], sections: list[tuple[str, list]], generated: str
) -> str:
    figures: dict[str, dict] = {}
    body = []
    nav = []
    for n, (title, blocks) in enumerate(sections):
        nav.append(f'<a href="#s{n}">{esc(title)}</a>')
        inner = "".join(render_block(b, labels, figures) for b in blocks) or (
            '<p class="empty">nothing to show</p>'
        )
        body.append(f'<h2 id="s{n}">{esc(title)}</h2>{inner}')
    lib = plotly_js()
    csp = (
        f"default-src 'none'; script-src {_sha256(lib)} {_sha256(BOOT)}; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>primer report: {esc(" vs ".join(labels))}</title>
<style>{CSS}</style>
<script>{lib}</script>
</head><body style="--runs: {len(labels)}">
<h1>primer report</h1>
<p class="meta">{esc(" vs ".join(labels))} · generated {esc(generated)} · every figure is a
query over the run's ledger (<code>corpus.duckdb</code>), shown under it.</p>
{summary_table(labels, summaries)}
<nav>{"".join(nav)}</nav>
{"".join(body)}
<script type="application/json" id="primer-figures">{_json_for_html(figures)}</script>
<script>{BOOT}</script>
</body></html>
"""
