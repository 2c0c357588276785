"""``primer filters``: show how the filter stage judges one text."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.commands._common import config_option, set_option, user_errors


@click.command("filters")
@click.option("--explain", "text", metavar="TEXT", help="The text to judge ('-' reads stdin).")
@click.option(
    "--explain-file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    help="Judge the contents of this UTF-8 file instead.",
)
@click.option(
    "--show-text", is_flag=True, help="Also print the text as kept (after C4 line removal)."
)
@config_option
@set_option
@user_errors
def filters(
    text: str | None,
    path: str | None,
    show_text: bool,
    config_path: str | None,
    overrides: tuple[str, ...],
) -> None:
    """Explain the filter stage's decision on one text: language and score, then
    every heuristic rule (Gopher repetition, Gopher quality, C4, FineWeb) with
    its measured value, threshold and verdict, then the final verdict exactly
    as the pipeline would record it (drop_stage, drop_reason). Thresholds come
    from the config's `filters` section; tune them with --config or --set.

    \b
    Example:
        primer filters --explain "Lorem ipsum dolor sit amet."
        primer filters --explain-file page.txt --set filters.gopher_quality.min_doc_words=20
        cat page.txt | primer filters --explain - --config configs/web.yaml
    """
    from corpus.filters.explain import explain, format_explanation
    from pipelines.config import load_config

    if (text is None) == (path is None):
        raise click.UsageError("give exactly one of --explain TEXT or --explain-file PATH")
    if path is not None:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    elif text == "-":
        text = sys.stdin.read()
    cfg = load_config(config_path, overrides).filters
    result = explain(text or "", cfg)
    click.echo(format_explanation(result, cfg))
    if show_text:
        click.echo("\n--- text as kept ---\n" + result.text)


commands = [filters]
