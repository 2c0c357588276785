"""``primer sql``, ``primer stats``, ``primer select``: everything is SQL over the ledger."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from pipelines.commands._common import output_dir_option, user_errors


def _partial(e) -> click.ClickException:
    """Print what a partial output holds (stderr), return the one-line error."""
    for line in e.details:
        click.echo(f"  {line}", err=True)
    return click.ClickException(str(e))


def format_rows(columns: list[str], rows: list[tuple], fmt: str) -> str:
    if fmt == "json":
        return "\n".join(json.dumps(dict(zip(columns, r, strict=True)), default=str) for r in rows)
    if fmt == "csv":
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    cells = [[("" if v is None else str(v)).replace("\n", "\\n") for v in r] for r in rows]
    cells = [[c if len(c) <= 80 else c[:77] + "..." for c in r] for r in cells]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


@click.command("sql")
@click.argument("out")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@user_errors
def sql_command(out, query, fmt):
    """Run a SQL query on OUT's ledger (tables: documents, runs, rejects; views: funnel, token_yield, clusters).

    \b
    Example:
        primer sql out/ "SELECT lang, count(*), sum(n_tokens) FROM documents WHERE kept GROUP BY lang"
        primer sql out/ "SELECT drop_reason, count(*) FROM documents GROUP BY 1 ORDER BY 2 DESC" --format csv
    """
    import duckdb

    from pipelines.inspect_output import (
        INDEX_TABLES,
        SANDBOX_HINT,
        PartialOutput,
        connect_sandboxed,
        describe,
        ledger_path,
        tables,
        unfinished_note,
    )
    from pipelines.remote import ledger_dir

    out = ledger_dir(out)  # s3://...: the committed ledger, downloaded (DuckDB can't write S3)
    try:
        con = connect_sandboxed(out)
    except PartialOutput as e:
        raise _partial(e) from e
    missing = None
    with con:
        try:
            rel = con.execute(query)
            columns = [d[0] for d in rel.description] if rel.description else []
            rows = rel.fetchall()
        except duckdb.CatalogException as e:
            if any(t not in tables(con) for t in INDEX_TABLES):
                missing = str(e).splitlines()[0]  # a killed run's ledger: say what it holds
            else:
                raise click.ClickException(str(e).splitlines()[0]) from e
        except duckdb.Error as e:
            msg = str(e).splitlines()[0]
            if isinstance(e, duckdb.PermissionException) or "has been locked" in msg:
                msg += f" ({SANDBOX_HINT})"
            raise click.ClickException(msg) from e
        note = unfinished_note(con)
    if missing:
        raise _partial(PartialOutput(missing, describe(ledger_path(out).parent)))
    click.echo(format_rows(columns, rows, fmt))
    if note:
        click.echo(f"warning: {note}", err=True)


@click.command("stats")
@click.argument("out")
@user_errors
def stats_command(out):
    """Print the funnel (documents read, dropped and remaining per stage) and token totals.

    \b
    Example:
        primer stats out/
        primer stats s3://corpora/edu-v1/
    """
    from corpus import ledger
    from pipelines.inspect_output import (
        INDEX_TABLES,
        PartialOutput,
        connect_sandboxed,
        describe,
        ledger_path,
        tables,
        unfinished_note,
    )
    from pipelines.remote import ledger_dir

    out = ledger_dir(out)  # s3://...: the committed ledger, downloaded
    try:
        con = connect_sandboxed(out)
    except PartialOutput as e:
        raise _partial(e) from e
    with con:
        lost = [t for t in INDEX_TABLES if t not in tables(con)]
        if lost:
            raise _partial(
                PartialOutput(
                    f"{ledger_path(out)} has no {', '.join(lost)}: the run never finished indexing",
                    describe(ledger_path(out).parent),
                )
            )
        funnel = con.execute(ledger.FUNNEL_DISPLAY_SQL).fetchall()
        total, kept, tokens, chars = con.execute(
            "SELECT count(*), count(*) FILTER (kept), coalesce(sum(n_tokens) FILTER (kept), 0),"
            " coalesce(sum(n_chars) FILTER (kept), 0) FROM documents"
        ).fetchone()
        n_rejects = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
        reasons = con.execute(
            "SELECT drop_stage, drop_reason, count(*) FROM documents WHERE NOT kept"
            " GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT 15"
        ).fetchall()
        note = unfinished_note(con)
    click.echo(f"read {total} documents ({n_rejects} unparseable input records in `rejects`)")
    click.echo(format_rows(["stage", "dropped", "remaining"], funnel, "table"))
    click.echo(f"\nkept {kept} documents, {tokens:,} tokens, {chars:,} characters")
    if reasons:
        click.echo("\ntop drop reasons:")
        click.echo(format_rows(["stage", "reason", "documents"], reasons, "table"))
    if note:
        # The numbers above are an earlier run's; CI must not take them for this one.
        raise _partial(PartialOutput(note, describe(ledger_path(out).parent)))


@click.command("select")
@click.argument("out")
@click.option(
    "--min-edu",
    type=click.FloatRange(0.0, 5.0),
    required=True,
    help="Keep documents whose stored edu_score is at least this.",
)
@output_dir_option("New output directory for the selected corpus.")
@click.option(
    "--max-docs",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Documents per output part.",
)
@user_errors
def select_command(out, min_edu, output, max_docs):
    """Write a new corpus from OUT's stored scores at another edu threshold; no model runs.

    Documents dropped by any other stage stay dropped; only the edu threshold changes.
    See the `token_yield` view to pick a threshold first. OUTPUT must be a new
    directory (not OUT, nor inside or around it); the select is recorded in
    OUTPUT's `runs` table. OUT must be a finished run.

    \b
    Example:
        primer sql out/ "SELECT * FROM token_yield"
        primer select out/ --min-edu 2.5 --output out-edu25/
        primer select s3://corpora/edu-v1/ --min-edu 3 --output out-edu3/
    """
    from pipelines.inspect_output import PartialOutput
    from pipelines.remote import ledger_dir
    from pipelines.select import select_corpus

    out = ledger_dir(out, everything=True)  # s3://...: the committed output, downloaded
    try:
        n, tokens = select_corpus(
            Path(out), Path(output), min_edu, max_docs, command=" ".join(sys.argv)
        )
    except PartialOutput as e:
        raise _partial(e) from e
    click.echo(f"selected {n} documents ({tokens:,} tokens) into {Path(output) / 'corpus'}")
    sys.stdout.flush()


commands = [sql_command, stats_command, select_command]
