"""``primer mix``: token-budgeted, seeded, resumable training mixtures over finished runs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.commands._common import output_dir_option, user_errors


@click.command("mix")
@click.option("--recipe", required=True, type=click.Path(dir_okay=False), help="Recipe YAML.")
@output_dir_option("Output directory of the mixture.")
@click.option("--dry-run", is_flag=True, help="Print the plan (tokens, passes); write nothing.")
@click.option("--force", is_flag=True, help="Start over instead of resuming.")
@user_errors
def mix_command(recipe, output, dry_run, force):
    """Mix finished primer outputs into shuffled jsonl.zst shards by a token recipe.

    The recipe gives a token budget, a seed and sources: a run directory, an
    optional SQL `where` over its ledger, a share (or weight), a cap on passes
    (`max_epochs`, default 1) and optional `edu_weights` (copies per pass by
    rounded edu score). Output: OUT/corpus/part-*.jsonl.zst (documents gain
    metadata.mix_source and metadata.mix_epoch), OUT/manifest.json and the
    `mix` table in OUT/mix.duckdb. Rerunning resumes; the same recipe gives
    byte-identical shards.

    \b
    Example recipe (mixes/small.yaml):
        total_tokens: 2000000
        seed: 7
        sources:
          - {name: web, run: out-web, where: "edu_score >= 3 AND lang = 'en'", share: 0.6, max_epochs: 2}
          - {name: synth, run: out-synth, share: 0.4, max_epochs: 4, edu_weights: {5: 3, 4: 2}}
    \b
    Example:
        primer mix --recipe mixes/small.yaml --output mix-v1/ --dry-run
        primer mix --recipe mixes/small.yaml --output mix-v1/
        primer sql mix-v1/mix.duckdb "SELECT source, sum(n_tokens) FROM mix GROUP BY 1"
    """
    from pipelines.mix_shuffle import run_mix

    result = run_mix(Path(recipe), Path(output), dry_run=dry_run, force=force)
    if not dry_run:
        click.echo(json.dumps({k: result[k] for k in ("total_tokens", "seed")}))
        for s in result["sources"]:
            click.echo(
                f"{s['name']}: {s['tokens']:,} tokens, {s['documents']:,} documents, "
                f"{s['passes']:.3f} passes"
            )


commands = [mix_command]
