"""``primer report``: the page opened in headless Chromium, and its numbers against the ledger.

The run is the demo sample plus one shard of four near-identical lessons whose first
line carries ``<script>alert(1)</script>`` and an ``<img onerror>`` that would set
``document.title``: they form a near-duplicate cluster, so their first lines are on
the page, and the test checks the text shows up as text and nothing runs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines import report_html
from pipelines.report_sql import Result
from tests.pipelines.headless import CHROMIUM, Browser

PAYLOAD = "<script>alert(1)</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"
_LESSON = [
    # the first line (the ledger's first_line, shown for cluster members) carries both
    f"{PAYLOAD}{IMG} is what a hostile page looks like.",
    "A page that shows text from strangers must escape it, or a tag like that would run.",
    "Escaping replaces each angle bracket with a named entity, so the browser draws the character instead of reading a tag.",
    "The same rule holds for quotes inside attributes, because an attribute can also carry a small program.",
    "Teachers often show this with a comment box: the first student who types a tag learns why the rule exists.",
    "A careful developer escapes every value at the moment it is written into the page, not earlier and not later.",
    "Libraries that build pages from templates usually do this for you, but only when you let them.",
    "When a report shows samples of a corpus, each sample is untrusted text and has to be treated the same way.",
]
_ENDINGS = [
    "This is the first version of the lesson.",
    "This copy of the lesson was saved by a second reader.",
    "A third reader kept this copy for the class.",
    "The fourth copy of the lesson ends here.",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"headless Chromium is absent ({CHROMIUM}): `apt-get install -y chromium` "
    "(Debian package; .ci/run installs it) to run the report's browser tests",
)


def ledger_rows(out: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def demo_run(ray_local, tmp_path_factory) -> Path:
    """The demo sample plus the hostile shard, through every stage (~1.5-5 min)."""
    from pipelines.config import load_config
    from pipelines.demo import sample_paths
    from pipelines.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("report")
    hostile = root / "hostile.jsonl"
    hostile.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"hostile-{i}",
                    "url": f"https://lessons.example.org/escaping/{i}?q={PAYLOAD}",
                    "text": "\n".join([*_LESSON, end]),
                }
            )
            + "\n"
            for i, end in enumerate(_ENDINGS)
        )
    )
    inputs = (*[str(p) for p in sample_paths()], str(hostile))
    out = root / "demo"
    run_pipeline(load_config(None, ["ray.progress=false"], inputs=inputs, output=str(out)))
    return out


@pytest.fixture(scope="module")
def demo_page(demo_run, tmp_path_factory):
    """The report opened in Chromium once; yields (browser, out, html path, screenshot)."""
    from pipelines.report import write_report

    if not CHROMIUM.exists():
        pytest.skip(needs_chromium.kwargs["reason"])
    page = write_report(demo_run)
    shot = demo_run / "report.png"
    with Browser(tmp_path_factory.mktemp("chromium-profile") / "p", width=1400) as b:
        b.open(page.as_uri())
        wait_rendered(b)
        b.screenshot(shot)
        yield b, demo_run, page, shot


def wait_rendered(b: Browser, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = b.eval("document.body.getAttribute('data-plots-rendered')")
        if n is not None:
            return int(n)
        time.sleep(0.25)
    raise AssertionError(f"plots not rendered within {timeout} s: {b.events}")


def assert_clean(b: Browser, page: Path) -> None:
    ev = b.events
    assert ev.console_errors == [] and ev.exceptions == [] and ev.log_errors == [], ev
    assert ev.dialogs == [], f"a document's script ran: {ev.dialogs}"
    # offline: the page loads nothing but itself (plotly.js is inlined)
    assert set(ev.requests) == {page.as_uri()}, ev.requests


@pytest.mark.ray
@pytest.mark.slow
@needs_chromium
def test_page_renders_every_plot_offline_without_errors(demo_page):
    b, out, page, shot = demo_page
    assert_clean(b, page)
    n_figures = len(json.loads(b.eval("document.getElementById('primer-figures').textContent")))
    plots = b.eval(
        "Array.from(document.querySelectorAll('.plot')).map(d => [d.id,"
        " d.getAttribute('data-rendered'), d.querySelectorAll('svg.main-svg').length,"
        " d.querySelectorAll('g.trace').length])"
    )
    # funnel, reasons, edu, yield, languages, domains, sources, lengths, clusters + >= 1 rule
    assert len(plots) == n_figures >= 10
    for plot_id, rendered, svgs, traces in plots:
        assert rendered == "1" and svgs >= 1 and traces >= 1, (plot_id, rendered, svgs, traces)
    # every figure and table block shows its SQL under it
    blocks = b.eval("document.querySelectorAll('section.block').length")
    assert b.eval("document.querySelectorAll('section.block > details pre.sql').length") == blocks
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.ray
@pytest.mark.slow
@needs_chromium
def test_document_script_is_shown_as_text_and_does_not_run(demo_page):
    b, out, page, _ = demo_page
    cluster = ledger_rows(
        out, "SELECT dup_cluster FROM documents WHERE id = 'hostile-0' AND dup_cluster IS NOT NULL"
    )
    assert cluster, "the hostile lessons should form a near-duplicate cluster"
    assert b.eval("document.title") == f"primer report: {out.name}"
    # the payload is on the page as text, inside the largest-clusters table
    shown = b.eval("document.getElementById('largest-clusters').innerText")
    assert PAYLOAD in shown and IMG in shown
    # only the page's own three script elements exist (plotly.js, figure data, boot)
    assert b.eval("document.scripts.length") == 3
    assert b.eval("document.querySelectorAll('img').length") == 0
    assert b.events.dialogs == []


@pytest.mark.ray
@pytest.mark.slow
@needs_chromium
def test_numbers_on_the_page_equal_sql_over_the_ledger(demo_page):
    b, out, _, _ = demo_page
    metric = lambda name: float(  # noqa: E731
        b.eval(f"document.querySelector('[data-metric={name}][data-run=\"0\"]').dataset.value")
    )
    docs, kept, tokens = ledger_rows(
        out,
        "SELECT count(*), count(*) FILTER (WHERE kept), sum(n_tokens) FILTER (WHERE kept)"
        " FROM documents",
    )[0]
    assert (metric("documents"), metric("kept"), metric("kept_tokens")) == (docs, kept, tokens)
    counts = json.loads(ledger_rows(out, "SELECT counts FROM runs")[0][0])
    assert (counts["documents"], counts["kept"], counts["kept_tokens"]) == (docs, kept, tokens)

    def plot(plot_id: str, trace: int, axis: str) -> list:
        return b.eval(f"document.getElementById('{plot_id}').data[{trace}].{axis}")

    funnel = ledger_rows(out, "SELECT stage, remaining FROM funnel ORDER BY ord")
    assert plot("plot-funnel-0", 0, "x") == [s for s, _ in funnel]
    assert plot("plot-funnel-0", 0, "y") == [n for _, n in funnel]
    assert plot("plot-funnel-0", 0, "y")[-1] == kept
    assert plot("plot-funnel-0", 1, "y")[-1] == tokens  # tokens after the last stage
    yields = ledger_rows(out, "SELECT threshold, tokens FROM token_yield ORDER BY threshold")
    assert plot("plot-token-yield-0", 0, "x") == [t for t, _ in yields]
    assert plot("plot-token-yield-0", 0, "y") == [n for _, n in yields]
    domains = dict(
        ledger_rows(
            out,
            "SELECT coalesce(domain, '(no url)'), sum(n_tokens) FROM documents WHERE kept GROUP BY 1",
        )
    )
    shown = dict(zip(plot("plot-domains-0", 0, "y"), plot("plot-domains-0", 0, "x"), strict=True))
    assert shown == {d: domains[d] for d in shown} and len(shown) == min(20, len(domains))
    # the largest-clusters table: sizes as in the clusters view
    sizes = b.eval(
        "Array.from(document.querySelectorAll('#largest-clusters tbody tr'))"
        ".map(tr => [tr.cells[0].innerText, Number(tr.cells[1].dataset.value)])"
    )
    assert sizes and all(
        ledger_rows(out, f"SELECT count(*) FROM documents WHERE dup_cluster = '{c}'")[0][0] == n
        for c, n in sizes
    )
    # kept samples: each shown id is a kept document at the level it is shown under
    samples = b.eval(
        "Array.from(document.querySelectorAll('#samples-edu tbody tr'))"
        ".map(tr => [Number(tr.cells[0].dataset.value), tr.cells[2].innerText])"
    )
    levels = dict(ledger_rows(out, "SELECT id, edu_int FROM documents WHERE kept"))
    assert samples and all(levels[i] == level for level, i in samples)


@pytest.mark.ray
@pytest.mark.slow
@needs_chromium
def test_compare_shows_two_runs_side_by_side(demo_run, tmp_path):
    """A stricter cut of the same run (``primer select --min-edu 3.5``) next to it."""
    from pipelines.cli import main
    from pipelines.select import select_corpus

    strict = tmp_path / "strict"
    select_corpus(demo_run, strict, 3.5)
    result = CliRunner().invoke(
        main,
        ["report", str(demo_run), "--compare", str(strict), "-o", str(tmp_path / "cmp.html")],
    )
    assert result.exit_code == 0, result.output
    page = Path(result.output.strip())
    assert page == tmp_path / "cmp.html"
    with Browser(tmp_path / "profile", width=1400) as b:
        b.open(page.as_uri())
        n = wait_rendered(b)
        assert_clean(b, page)
        assert b.eval("document.querySelectorAll('#funnel .plot').length") == 2
        assert n == b.eval("document.querySelectorAll('.plot[data-rendered=\"1\"]').length") >= 20
        strict_kept = b.eval(
            "Number(document.querySelector('[data-metric=kept][data-run=\"1\"]').dataset.value)"
        )
    kept = ledger_rows(strict, "SELECT count(*) FROM documents WHERE kept")[0][0]
    before = ledger_rows(demo_run, "SELECT count(*) FROM documents WHERE kept")[0][0]
    assert strict_kept == kept < before


def test_table_cells_and_figure_json_are_escaped():
    res = Result("SELECT 1", ["id", "text", "n"], [("a<b", PAYLOAD, 1234)])
    html = report_html.table(res, 0)
    assert PAYLOAD not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-value="1234"' in html and "1,234" in html
    data = report_html._json_for_html({"x": [f"</script>{PAYLOAD}"]})
    assert "<" not in data and ">" not in data
    assert json.loads(data) == {"x": [f"</script>{PAYLOAD}"]}


def test_report_on_a_directory_without_a_ledger_is_one_clean_error(tmp_path):
    from pipelines.cli import main

    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "no ledger" in result.output and "Traceback" not in result.output


def _tiny_ledger(out: Path) -> None:
    """A ledger built by the real steps and ledger from hand-written ingest Parquet (no Ray):
    ingest only, so no edu scores and no clusters."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus import ledger
    from pipelines.config import PipelineConfig
    from pipelines.layout import Layout
    from pipelines.steps import build_ledger, run_steps

    rows = [
        # (id, text, drop_stage, drop_reason, n_tokens, words)
        ("a", f"{PAYLOAD} A lesson about fractions and their parts.", None, None, 12, 80.0),
        ("b", "Another lesson, about gravity and falling bodies.", None, None, 9, 70.0),
        ("c", "Too short.", "quality", "gopher_short_doc", None, 2.0),
        ("d", "Noch ein Text.", "langid", "low_lang_score", None, None),
    ]
    docs = out / "work" / "docs" / "in-0"
    docs.mkdir(parents=True)
    table = pa.table(
        {
            "uid": [f"in/{r[0]}" for r in rows],
            "id": [r[0] for r in rows],
            "source": ["in.jsonl"] * len(rows),
            "source_file": ["/data/in.jsonl"] * len(rows),
            "position": list(range(len(rows))),
            "url": [f"https://{r[0]}.example.org/<b>" for r in rows],
            "domain": [f"{r[0]}.example.org" for r in rows],
            "text": [r[1] for r in rows],
            "drop_stage": [r[2] for r in rows],
            "drop_reason": [r[3] for r in rows],
            "n_chars": [len(r[1]) for r in rows],
            "n_tokens": pa.array([r[4] for r in rows], pa.int64()),
            "lang": ["en", "en", "en", "de"],
            "quality": pa.array(
                [None if r[5] is None else [("gopher_words", r[5])] for r in rows],
                pa.map_(pa.string(), pa.float64()),
            ),
        }
    )
    pq.write_table(table, docs / "part-0.parquet")
    build_ledger(Layout(out), steps=run_steps(PipelineConfig(), Layout(out), until="ingest"))
    con = ledger.connect(out / "corpus.duckdb")
    ledger.start_run(con, "r1", "primer run", PipelineConfig().model_dump(mode="json"), {})
    ledger.finish_run(con, "r1", "ok", {"documents": len(rows)})
    con.close()


def test_report_of_an_ingest_only_ledger_without_a_browser(tmp_path):
    """Missing stages show "no rows" instead of failing; numbers and text as in the ledger."""
    from html.parser import HTMLParser

    from pipelines.report import write_report

    out = tmp_path / "tiny"
    _tiny_ledger(out)
    page = write_report(out).read_text()

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.metrics, self.plots, self.scripts = {}, [], 0

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if "data-metric" in a:
                self.metrics[a["data-metric"]] = a["data-value"]
            if a.get("class") == "plot":
                self.plots.append(a["id"])
            self.scripts += tag == "script"

    c = Collect()
    c.feed(page)
    assert c.metrics["documents"] == "4" and c.metrics["kept"] == "2"
    assert c.metrics["kept_tokens"] == "21"
    assert c.scripts == 3 and PAYLOAD not in page.split("</head>", 1)[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the kept sample, escaped
    figures = json.loads(page.split('id="primer-figures">', 1)[1].split("</script>", 1)[0])
    assert sorted(figures) == sorted(c.plots)
    assert "plot-edu-0" not in figures and "plot-cluster-sizes-0" not in figures  # no rows
    assert "plot-funnel-0" in figures and "plot-rule-gopher_short_doc-0" in figures
    funnel = figures["plot-funnel-0"]["data"][0]
    assert funnel["y"] == [
        r[0] for r in ledger_rows(out, "SELECT remaining FROM funnel ORDER BY ord")
    ]
