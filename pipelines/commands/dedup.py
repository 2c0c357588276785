"""``primer dedup``: MinHash near-duplicate removal alone, on any readable inputs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.commands._common import config_option, set_option, user_errors

# `primer run` with every per-document stage off and no classifier: read, token count,
# exact dedup (off: no text hashes without filters), MinHash near dedup, write.
DEDUP_ONLY = (
    "profile=web",
    "filters.enabled=false",
    "decontam.enabled=false",
    "pii.enabled=false",
    "toxicity.enabled=false",
    "classify.enabled=false",
    "synth.enabled=false",
)


@click.command("dedup")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output", "-o", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@click.option(
    "--against",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Output directory of an earlier `primer dedup` or `primer run`: also drop near-duplicates of its kept documents (repeatable).",
)
@config_option
@set_option
@user_errors
def dedup(
    inputs: tuple[str, ...],
    output: str,
    against: tuple[str, ...],
    config_path: str | None,
    overrides: tuple[str, ...],
) -> None:
    """Remove near-duplicate documents (MinHash LSH, the config's `dedup` section).

    Reads INPUT files, globs or directories (jsonl[.gz|.zst], parquet, WARC/WET)
    with the pipeline's own ingest and steps, but no filter and no classifier:
    the surviving documents go to OUT/corpus/part-NNNNN.jsonl.zst, every decision
    to the ledger OUT/corpus.duckdb (`drop_reason = 'near-duplicate'`,
    `duplicate_of`, `dup_cluster`), the kept documents' band hashes to
    OUT/work/near/minhash/, so that a later run can use --against OUT. Uids are
    those of `primer run` (`<shard key>/<record position>`). Reruns resume.

    \b
    Example:
        primer dedup ../shared/data/web/*.jsonl.gz --output dedup-out
        primer dedup new-crawl/ --output dedup-new --against dedup-out --set dedup.verify=true
        primer sql dedup-new "SELECT id, duplicate_of FROM documents WHERE NOT kept"
    """
    from pipelines.config import load_config
    from pipelines.pipeline import run_pipeline

    cfg = load_config(config_path, (*overrides, *DEDUP_ONLY), inputs=inputs, output=output)
    result = run_pipeline(cfg, until="dedup", against=list(against), command="primer dedup")
    c = result.counts
    click.echo(
        f"read {c.get('documents', 0)} document(s) from {result.n_files}"
        f" file(s), {c.get('rejects', 0)} unreadable record(s)"
    )
    stats_file = Path(output) / "work" / "near" / "near_dedup_stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    click.echo(
        f"near-duplicates: {stats.get('dropped', 0)} dropped "
        f"({stats.get('dropped_for_earlier_corpus', 0)} of an earlier corpus) "
        f"in {stats.get('clusters', 0)} cluster(s); kept {c.get('kept', 0)}"
    )
    click.echo(f"corpus: {result.out / 'corpus'}  ledger: {result.out / 'corpus.duckdb'}")


commands = [dedup]
