"""``primer report``: the run as one offline HTML page of plots, each a query over the ledger."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.commands._common import user_errors


@click.command("report")
@click.argument("out")
@click.option(
    "--compare",
    type=click.Path(exists=True, file_okay=False),
    help="A second run's output directory, shown side by side.",
)
@click.option(
    "--output", "-o", "dest", type=click.Path(dir_okay=False), help="Default: OUT/report.html."
)
@user_errors
def report_command(out, compare, dest):
    """Write OUT/report.html: funnel, drop reasons, edu scores and token yield, languages,
    domains, sources, lengths, duplicate clusters, quality rules vs thresholds, samples and
    runs. Self-contained (Plotly inlined): it opens offline. Prints the page's path.

    \b
    Example:
        primer report out/
        primer report out/ --compare out-prev/ -o compare.html
        primer report s3://corpora/edu-v1/ -o edu-v1.html
    """
    from pipelines.remote import ledger_dir
    from pipelines.report import write_report

    out = ledger_dir(out, everything=True)  # s3://...: downloaded; the page is written here
    if not Path(out).is_dir():
        raise click.BadParameter(f"{out} is not a directory", param_hint="OUT")
    path = write_report(Path(out), Path(compare) if compare else None, dest and Path(dest))
    click.echo(str(path))


commands = [report_command]
