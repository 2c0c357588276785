"""``primer serve`` (the filter service) and ``primer filter-remote`` (its client)."""

from __future__ import annotations

import click

from pipelines.commands._common import config_option, set_option, user_errors


@click.command("serve")
@config_option
@click.option(
    "--index",
    "index",
    type=click.Path(file_okay=False),
    help="OUT of a finished `primer run`: exact/near duplicate_of against its kept documents.",
)
@click.option("--host", help="Bind address (default 127.0.0.1, serve.host).")
@click.option("--port", type=int, help="Port (default 8000, serve.port).")
@set_option
@user_errors
def serve_command(config_path, index, host, port, overrides):
    """Serve `primer run`'s per-document decisions over HTTP (Ray Serve).

    POST /v1/filter, /v1/score, /v1/extract; GET /healthz, /metrics, /docs.
    Same config file and keys as `primer run`; limits, token and replicas
    under `serve:` (`primer config`). PRIMER_TOKEN requires a bearer token.
    Runs until Ctrl-C or SIGTERM; never writes to --index.

    \b
    Example:
        primer serve --config configs/web.yaml --index out/ --port 8000
        curl -s localhost:8000/v1/filter -H 'content-type: application/json' \\
             -d '{"documents": [{"id": "a", "text": "..."}]}'
    """
    from pathlib import Path

    from pipelines.config import load_config
    from pipelines.serve.app import serve_forever

    config = load_config(config_path, overrides)
    explicit = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if explicit:
        config = config.model_copy(update={"serve": config.serve.model_copy(update=explicit)})
        type(config.serve).model_validate(config.serve.model_dump())
    if index is not None and not (Path(index) / "corpus.duckdb").is_file():
        raise click.ClickException(f"--index {index}: no ledger (corpus.duckdb) of a finished run")
    serve_forever(config, index, ready=lambda m: click.echo(m, err=True))


@click.command("filter-remote")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--url", required=True, help="Base URL of `primer serve`, e.g. http://127.0.0.1:8000."
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSONL of decisions, one per input document, in input order.",
)
@click.option("--batch-size", default=32, show_default=True, help="Documents per request.")
@click.option("--token", envvar="PRIMER_TOKEN", help="Bearer token (default env PRIMER_TOKEN).")
@user_errors
def filter_remote_command(input_path, url, output, batch_size, token):
    """Send INPUT's documents to a running `primer serve` and write its decisions.

    INPUT is anything `primer run` reads (JSONL, Parquet, WARC, WET); unreadable
    records are reported, not sent. Duplicates are found within each batch (and
    against the server's --index), not across batches. The output is written to
    a temp file and renamed when complete.

    \b
    Example:
        primer filter-remote shard.jsonl.gz --url http://127.0.0.1:8000 --output decisions.jsonl
    """
    import json
    import os
    from pathlib import Path

    from corpus.readers import iter_records
    from pipelines.serve.client import FilterClient, ServiceError

    def report(path, reject) -> None:
        click.echo(f"reject: {input_path}:{reject.position}: {reject.error}", err=True)

    records = iter_records([input_path], on_reject=report)
    docs = ({"id": r.id, "text": r.text, "url": r.url} for r in records)

    out = Path(output)
    tmp = out.with_name(out.name + ".tmp")
    n = kept = 0
    try:
        with FilterClient(url, token=token, batch_size=batch_size) as client, tmp.open("w") as f:
            for results in client.batches("/v1/filter", docs):
                for r in results:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
                    n += 1
                    kept += bool(r.get("kept"))
    except (ServiceError, OSError) as e:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"{url}: {e}") from e
    os.replace(tmp, out)
    click.echo(f"{n} documents, {kept} kept -> {out}")


commands = [serve_command, filter_remote_command]
