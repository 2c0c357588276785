"""``primer run`` and ``primer index``."""

from __future__ import annotations

import sys

import click

from pipelines.commands._common import config_option, set_option, user_errors, verbosity


@click.command("run")
@config_option
@click.option(
    "--input", "-i", "inputs", multiple=True, help="Path, glob or directory (repeatable)."
)
@click.option("--output", "-o", help="Output directory: corpus/, corpus.duckdb, work/.")
@click.option("--tokenizer", help="cl100k_base (default) or a Hugging Face tokenizer.json path.")
@click.option(
    "--until",
    type=click.Choice(["ingest", "dedup", "classify", "all"]),
    default="all",
    show_default=True,
    help="Stop after this step (the corpus and ledger are still written).",
)
@click.option(
    "--against", multiple=True, help="Earlier output dir to near-dedup against (repeatable)."
)
@click.option("--force", is_flag=True, help="Redo every shard and step instead of resuming.")
@click.option(
    "--max-reject-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="Exit 1 (corpus and ledger still written) if any input file has more than this share"
    " of its records rejected, or only rejects; 1 turns the check off.",
)
@click.option(
    "--profile",
    type=click.Choice(["auto", "web", "code"]),
    default=None,
    help="Filter chain and edu model for every input; auto (default) = code for source files.",
)
@set_option
@verbosity
@user_errors
def run_command(
    config_path,
    inputs,
    output,
    tokenizer,
    until,
    against,
    force,
    max_reject_rate,
    profile,
    overrides,
):
    """Run the pipeline: ingest, filter, dedup, classify, write, index.

    Finished input shards are skipped on a rerun; an interrupted run resumes.
    RAY_ADDRESS (or `ray job submit`) sends the same job to a cluster.

    \b
    Example:
        primer run --input 'shards/*.warc.gz' --input more.jsonl.zst --output out/
        primer run --config configs/web.yaml --set classify.min_edu_score=2.5 --quiet
        RAY_ADDRESS=ray://head:10001 primer run --config configs/web.yaml
        primer run --profile code --input 'stack/*.parquet' --input 'repos/' --output out-code/
        primer run --input 's3://crawl/cc/*.warc.gz' --output s3://corpora/edu-v1/
    """
    from pipelines import progress
    from pipelines.config import load_config
    from pipelines.pipeline import run_pipeline
    from pipelines.strict import check_reject_rate

    config = load_config(
        config_path, overrides, inputs=inputs, output=output, tokenizer=tokenizer, profile=profile
    )
    if not config.inputs and not config.synth.enabled:  # the input first: it is what is missing
        raise click.UsageError("no inputs: pass --input or set `inputs:` (or enable synth)")
    remote_out = _stage_remote(config)
    result = run_pipeline(
        config,
        until=until,
        force=force,
        against=list(against),
        command=" ".join(sys.argv),
        commit_to=remote_out,
    )
    if remote_out:  # committed before the reject check, which may exit 1
        from pipelines import remote

        n = remote.push(result.out, remote_out, result.uploaded)
        if progress.level() >= progress.NORMAL:
            click.echo(f"[primer] committed {n} changed file(s) to {remote_out}")
    check_reject_rate(result.out, max_reject_rate, result.run_id)  # ledger written: may exit 1
    c = result.counts
    if progress.level() < progress.NORMAL:
        return
    click.echo(
        f"[primer] done: {c.get('documents', 0)} documents read, {c.get('kept', 0)} kept "
        f"({c.get('kept_tokens', 0)} tokens), {c.get('rejects', 0)} rejects\n"
        f"[primer] corpus: {result.out / 'corpus'}\n[primer] ledger: {result.out / 'corpus.duckdb'}"
    )


def _stage_remote(config) -> str | None:
    """Object-store inputs and output (``s3://``) run through local staging
    (``pipelines.remote``); returns the output URI to commit to, if any."""
    from corpus.readers.inputs import is_remote
    from pipelines import remote

    if any(is_remote(i) for i in config.inputs):
        config.inputs = remote.stage_inputs(list(config.inputs))
    if not (config.output and is_remote(config.output)):
        return None
    uri, local = config.output, remote.output_stage(config.output)
    n = remote.pull(uri, local)  # markers, state, corpus, ledger: resume and no-op reruns
    n_shards = remote.pull_uploaded(uri, local)  # finished by workers, never committed
    if n or n_shards:
        from pipelines.progress import say

        say(
            f"pulled {n} committed file(s) and {n_shards} uncommitted finished shard(s)"
            f" of {uri} into {local}"
        )
    config.output = str(local)
    return uri


@click.command("index")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--min-edu", type=float, help="Edu threshold for low-edu drops (default: from the last run)."
)
@user_errors
def index_command(out, min_edu):
    """Rebuild the DuckDB ledger of OUT from its work files (no model runs).

    \b
    Example:
        primer index out/
    """
    from pathlib import Path

    from corpus import ledger
    from pipelines.layout import Layout
    from pipelines.steps import reindex

    layout = Layout(Path(out))
    reindex(layout, min_edu)
    con = ledger.connect(layout.ledger)
    n = con.execute("SELECT count(*), count(*) FILTER (kept) FROM documents").fetchone()
    con.close()
    click.echo(f"indexed {n[0]} documents ({n[1]} kept) into {layout.ledger}")


commands = [run_command, index_command]
