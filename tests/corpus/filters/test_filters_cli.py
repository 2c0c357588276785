"""``primer filters --explain``: every rule's value, threshold and verdict, and the
final verdict the stage would record."""

from __future__ import annotations

from click.testing import CliRunner

from corpus.filters.config import FilterConfig
from corpus.filters.explain import explain
from pipelines.cli import main
from tests.corpus.filters.filter_texts import GOOD_TEXT


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, ["filters", *args], input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_explain_good_text_lists_every_rule():
    out = run("--explain", GOOD_TEXT)
    assert "language  en" in out
    for rule in (
        "gopher_short_doc",
        "gopher_dup_10_grams",
        "c4_curly_bracket",
        "fineweb_list_ratio",
    ):
        assert rule in out
    assert "FAIL" not in out
    assert out.rstrip().endswith("final: KEEP")


def test_explain_short_text_names_the_failing_rule():
    out = run("--explain", "The children walked to the school near the river.")
    assert "FAIL" in out
    assert "drop_stage=quality  drop_reason=gopher_short_doc" in out


def test_explain_file_stdin_and_overrides(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("Home | About\n" + GOOD_TEXT, encoding="utf-8")
    out = run("--explain-file", str(page), "--show-text")
    assert "final: KEEP" in out
    assert out.split("--- text as kept ---\n")[1].strip() == GOOD_TEXT  # nav line removed
    out = run(
        "--explain", "-", "--set", "filters.gopher_quality.min_doc_words=500", input=GOOD_TEXT
    )
    assert "drop_reason=gopher_short_doc" in out


def test_explain_config_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("filters:\n  languages: [de]\n", encoding="utf-8")
    out = run("--explain", GOOD_TEXT, "--config", str(cfg))
    assert "drop_stage=langid  drop_reason=lang:en" in out


def test_explain_needs_exactly_one_input():
    result = CliRunner().invoke(main, ["filters"])
    assert result.exit_code != 0


def test_explain_matches_the_stage():
    cfg = FilterConfig()
    cfg.langid.enabled = False
    e = explain("Some words.\n" * 3, cfg)
    assert e.lang is None and e.drop_stage == "quality"
    assert e.drop_reason == "gopher_dup_line_frac"
    failed = [r.check.reason for _, r in e.results if r.failed]
    assert failed[0] == e.drop_reason
