"""``primer annotate``: score texts 0-5 with an LLM judge on any OpenAI-compatible endpoint."""

from __future__ import annotations

import json

import click

from pipelines.commands._common import input_option, jsonl_output_option, user_errors


@click.command("annotate")
@input_option("Input files/globs/folders, any format primer reads (repeatable).")
@jsonl_output_option("Annotations to write")
@click.option(
    "--endpoint", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."
)
@click.option("--model", required=True, help="Model name sent to the endpoint.")
@click.option(
    "--api-key-env", default="OPENAI_API_KEY", show_default=True, help="Env var with the API key."
)
@click.option("--concurrency", default=16, show_default=True, help="Requests in flight.")
@click.option(
    "--timeout", "timeout_s", default=120.0, show_default=True, help="Per-request timeout (s)."
)
@click.option("--max-retries", default=5, show_default=True, help="Retries on 429/5xx/timeouts.")
@click.option("--max-tokens", default=256, show_default=True, help="Completion token limit.")
@click.option("--limit", type=int, default=None, help="Annotate only the first N documents.")
@click.option(
    "--cache",
    type=click.Path(dir_okay=False),
    default=None,
    help="Journal file (default: OUTPUT.cache.jsonl).",
)
@user_errors
def annotate_cmd(
    inputs: tuple[str, ...],
    output: str,
    endpoint: str,
    model: str,
    api_key_env: str,
    concurrency: int,
    timeout_s: float,
    max_retries: int,
    max_tokens: int,
    limit: int | None,
    cache: str | None,
) -> None:
    """Annotate documents with an LLM judge's 0-5 educational-value score.

    Each text (first 2,000 characters) goes to the endpoint with an additive rubric
    prompt; records ``{id, text, score, raw, model}`` are written to OUTPUT, with
    ``score: null`` where the answer states no score. Answers are journaled next to
    OUTPUT, so a rerun only sends what is missing. Greedy decoding (temperature 0).

    \b
    Example:
        primer annotate --input 'pages/*.jsonl.gz' --output annotations.jsonl \\
            --endpoint http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-7B-Instruct
        OPENAI_API_KEY=... primer annotate --input docs.jsonl --output a.jsonl \\
            --endpoint https://api.openai.com/v1 --model gpt-4o-mini --concurrency 8
    """
    from classifiers.annotate import annotate_file
    from synth.backends.openai_http import ChatClient

    judge = ChatClient(  # classifiers.annotate.Judge, filled with synth's HTTP client
        endpoint,
        model,
        params={"temperature": 0.0, "max_tokens": max_tokens},
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout_s=timeout_s,
        max_retries=max_retries,
        cache_path=cache or f"{output}.cache.jsonl",
    )
    counts = annotate_file(inputs, output, judge, limit=limit)
    click.echo(json.dumps({"output": output, **counts, "usage": judge.usage.as_dict()}))


commands = [annotate_cmd]
