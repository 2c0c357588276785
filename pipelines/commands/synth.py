"""``primer synth`` (generate synthetic textbook documents) and ``primer topics`` (seed topics)."""

from __future__ import annotations

import json

import click

from pipelines.commands._common import (
    config_option,
    input_option,
    jsonl_output_option,
    output_dir_option,
    set_option,
    user_errors,
)


def _topics(path: str | None):
    from synth.topics import DEFAULT_TOPICS, load_topic_file

    topics = load_topic_file(path or DEFAULT_TOPICS)
    if not topics:
        raise click.UsageError(f"{path}: no topics")
    return topics


@click.command("synth")
@config_option
@set_option
@click.option(
    "--topics",
    "topics_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Topic file: YAML/JSONL topics, or a textbook JSONL(.gz) (its table of contents).",
)
@click.option("--n", type=int, default=None, help="Documents to generate (default: synth.n).")
@click.option(
    "--backend",
    type=click.Choice(["openai", "vllm", "local"]),
    default=None,
    help="LLM backend (default: synth.backend = local).",
)
@output_dir_option("Output directory; documents go to OUTPUT/synth/.")
@click.option("--model", default=None, help="Model name (openai) or model source (vllm).")
@click.option("--endpoint", default=None, help="OpenAI-compatible base URL (openai backend).")
@click.option("--seed", type=int, default=None, help="Seed of the prompt plan.")
@click.option(
    "--benchmarks",
    multiple=True,
    type=click.Path(exists=True),
    help="Benchmark JSONL files/folders for the decontamination gate (repeatable).",
)
@click.option("--no-edu", is_flag=True, help="Skip edu scoring of generations.")
@click.option(
    "--dedup-against",
    multiple=True,
    help="Corpus files/globs: generations near-duplicating any of their documents are dropped (repeatable).",
)
@user_errors
def synth_cmd(
    config_path,
    overrides,
    topics_path,
    n,
    backend,
    output,
    model,
    endpoint,
    seed,
    benchmarks,
    no_edu,
    dedup_against,
):
    """Generate synthetic textbook-style documents and gate them.

    Prompts rotate over topics x audiences (young children, high school, college,
    professionals) x formats (textbook section, tutorial, exercises, Python code
    exercise, Orca-2-style reasoning with prompt erasure), seeded. Generations are
    cleaned and gated (length, decontamination, MinHash near-dups, edu score, token
    count); kept ones are written to OUTPUT/synth/part-*.jsonl.zst with
    metadata.source = 'synthetic', gate decisions to OUTPUT/synth-work/gates/. A
    rerun resumes: finished prompts are not generated again. The `local` backend
    (Gemma 3 270M on CPU) shows the path, not textbook quality.

    \b
    Example:
        primer synth --topics ../shared/data/textbooks/openstax-intro-python.jsonl.gz \\
            --n 4 --backend local --output out/
        primer synth --topics topics.yaml --n 1000 --backend openai \\
            --endpoint http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-7B-Instruct \\
            --benchmarks ../shared/data/benchmarks --output out/
    """
    from pipelines.config import load_config
    from synth.gates import Gates
    from synth.run import run_synth

    explicit = {
        "synth.n": n,
        "synth.backend": backend,
        "synth.seed": seed,
        "synth.topics": topics_path,
        "synth.decontam.benchmarks": benchmarks or None,
    }
    cfg = load_config(config_path, overrides, **explicit).synth
    from synth.prompts import canonical_audience

    # "high school", "High-School": natural spellings; a typo fails here, before any model loads.
    cfg.audiences = [canonical_audience(a) for a in cfg.audiences]
    if no_edu:
        cfg.gates.edu_score = False
    if model:
        if cfg.backend == "vllm":
            cfg.vllm.model_source = model
        else:
            cfg.openai.model = model
    if endpoint:
        cfg.openai.endpoint = endpoint
    topics = _topics(cfg.topics)
    gates = Gates(cfg.gates, cfg.decontam)
    if dedup_against:
        from corpus.readers import iter_records

        recs = list(iter_records(dedup_against))
        gates.near_dups.add([f"corpus:{r.id}" for r in recs], [r.text for r in recs])
        click.echo(f"near-dup index: {len(gates.near_dups)} corpus documents", err=True)
    report = run_synth(topics, cfg, output, gates=gates, log=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(report.as_dict(), indent=2))


@click.command("topics")
@input_option(
    "High-value documents to cluster (files/globs; e.g. scored and kept with edu_score >= 3)."
)
@click.option(
    "--covered",
    multiple=True,
    help="The filtered web corpus (files/globs) whose coverage of each cluster is measured.",
)
@click.option(
    "--min-edu",
    type=float,
    default=None,
    help="Use only --input records whose edu_score (top level or metadata) is at least this.",
)
@click.option(
    "--k", "n_clusters", type=int, default=20, show_default=True, help="Number of clusters."
)
@click.option(
    "--limit",
    type=int,
    default=2000,
    show_default=True,
    help="At most this many documents per side.",
)
@jsonl_output_option("Topic JSONL to write (usable as --topics)")
@click.option("--seed", type=int, default=0, show_default=True)
@user_errors
def topics_cmd(inputs, covered, min_edu, n_clusters, limit, output, seed):
    """Derive topics from the corpus: cluster high-value documents, report coverage.

    Embeds the documents with the project's sentence-transformer (MiniLM, offline),
    clusters them with k-means, takes the document nearest each centroid as the
    topic's seed passage (Cosmopedia-style) and counts how many --covered documents
    fall near each cluster. Topics are written least-covered first, so generation
    can target what the filtered web lacks.

    \b
    Example:
        primer topics --input ../shared/data/textbooks/python-3.11-tutorial.jsonl.gz \\
            --covered out/corpus/ --k 8 --output topics.jsonl
        primer synth --topics topics.jsonl --n 16 --output out/
    """
    from pipelines.derive_topics import derive_topics

    clusters = derive_topics(
        inputs,
        output,
        covered=covered,
        min_edu=min_edu,
        n_clusters=n_clusters,
        limit=limit,
        seed=seed,
    )
    click.echo(f"{'cluster':<40} {'size':>5} {'covered':>8} {'share':>6}")
    for cl in clusters:
        click.echo(f"{cl.name[:40]:<40} {cl.size:>5} {cl.coverage:>8} {cl.coverage_share:>6.1%}")
    click.echo(f"wrote {len(clusters)} topics to {output} (least covered first)")


commands = [synth_cmd, topics_cmd]
