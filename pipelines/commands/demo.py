"""``primer demo``: the whole pipeline on the embedded sample, offline."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.commands._common import output_dir_option, set_option, user_errors, verbosity


@click.command("demo")
@output_dir_option("Output directory.", default="demo-out")
@click.option("--force", is_flag=True, help="Start from scratch instead of resuming.")
@click.option(
    "--profile",
    type=click.Choice(["web", "code"]),
    default="web",
    show_default=True,
    help="web: the prose sample; code: standard-library source files (code filters, code model).",
)
@set_option
@verbosity
@user_errors
def demo_command(output, force, profile, overrides):
    """Run every stage on the embedded sample (Python docs as WARC, package texts as JSONL).

    No network and no ../shared needed. See README "Run on real Common Crawl data" next.

    \b
    Example:
        primer demo --output demo-out
        primer demo --profile code --output demo-code-out
        primer sql demo-out "SELECT drop_stage, drop_reason, count(*) FROM documents GROUP BY ALL"
    """
    from corpus import ledger
    from pipelines import progress
    from pipelines.commands.ledger import format_rows
    from pipelines.config import load_config
    from pipelines.pipeline import run_pipeline

    if profile == "code":
        from pipelines.demo_code import sample_paths
    else:
        from pipelines.demo import sample_paths

    inputs = tuple(str(p) for p in sample_paths())
    extra = {"profile": "code"} if profile == "code" else {}
    config = load_config(None, overrides, inputs=inputs, output=output, **extra)
    result = run_pipeline(config, force=force, command="primer demo")
    if progress.level() < progress.NORMAL:
        return
    con = ledger.connect(result.out / "corpus.duckdb", read_only=True)
    funnel = con.execute(ledger.FUNNEL_DISPLAY_SQL).fetchall()
    kept = con.execute(
        "SELECT count(*), coalesce(sum(n_tokens), 0) FROM documents WHERE kept"
    ).fetchone()
    con.close()
    click.echo("\n" + format_rows(["stage", "dropped", "remaining"], funnel, "table"))
    click.echo(
        f"\nkept {kept[0]} documents ({kept[1]:,} tokens)\n"
        f"corpus: {Path(output) / 'corpus'}/part-*.jsonl.zst\n"
        f"ledger: {Path(output) / 'corpus.duckdb'}\n"
        f'try:    .venv/bin/primer sql {output} "SELECT drop_reason, count(*) FROM documents GROUP BY 1"'
    )


commands = [demo_command]
