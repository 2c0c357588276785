"""``primer extract``: run only the readers (and HTML extraction), no filtering."""

from __future__ import annotations

import sys

import click

from pipelines.commands._common import inputs_argument, jsonl_output_option, user_errors


@click.command("extract")
@inputs_argument
@jsonl_output_option("JSON Lines file to write, zstd streamed")
@click.option(
    "--max-record-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Reject documents larger than this (default 10 MiB).",
)
@click.option(
    "--extractor",
    type=click.Choice(["resiliparse", "trafilatura"]),
    default="resiliparse",
    show_default=True,
    help="HTML main-text extractor for WARC inputs (see corpus/extract.py for the measurement).",
)
@click.option(
    "--text-field",
    default="text",
    show_default=True,
    help="JSONL/Parquet field with the document text (e.g. content, raw_content).",
)
@click.option(
    "--id-field", default="id", show_default=True, help="JSONL/Parquet field with the document id."
)
@click.option("--quiet", "-q", is_flag=True, help="Do not list each reject on stderr.")
@user_errors
def extract(
    inputs: tuple[str, ...],
    output: str,
    max_record_bytes: int | None,
    extractor: str,
    text_field: str,
    id_field: str,
    quiet: bool,
) -> None:
    """Read INPUT files (WARC, WET, JSONL, Parquet; paths, globs, folders) and
    write every document they hold, as read, to one JSON Lines file.

    Each line is {"id", "url", "text", "metadata"}. HTML in WARC responses
    becomes its main text. Nothing is filtered or deduplicated; input that
    cannot be read is reported on stderr as FILE:POSITION: REASON. The
    output appears only when the command succeeds (written to a temporary
    file, then renamed).

    \b
    Example:
        primer extract ../shared/data/warc/whirlwind.warc.gz --output pages.jsonl
        primer extract '../shared/data/web/*.jsonl.gz' ../shared/data/warc -o all.jsonl.zst
        primer extract stack.jsonl.gz --text-field content --id-field hexsha -o code.jsonl
    """
    from corpus.readers import MAX_RECORD_BYTES, ReadStats, iter_records
    from corpus.writer import JsonlWriter

    def report(path, reject) -> None:
        if not quiet:
            click.echo(f"{path}:{reject.position}: {reject.error}", err=True)

    stats = ReadStats()
    records = iter_records(
        inputs,
        stats=stats,
        on_reject=report,
        max_record_bytes=max_record_bytes or MAX_RECORD_BYTES,
        extractor=extractor,
        text_field=text_field,
        id_field=id_field,
    )
    with JsonlWriter(output) as writer:
        for r in records:
            writer.write({"id": r.id, "url": r.url, "text": r.text, "metadata": r.metadata})
    click.echo(
        f"{stats.records} records, {stats.rejects} rejects from {stats.files} file(s) -> {output}",
        file=sys.stdout,
    )


commands = [extract]
