"""``primer``: the command line. Each command lives in ``pipelines/commands/<name>.py``
and exposes ``commands`` (a list of click commands); this module only gathers them.

\b
Example:
    primer run --input 'shards/*.warc.gz' --output out/
    primer sql out/ "SELECT lang, count(*) FROM documents WHERE kept GROUP BY lang"
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from pipelines import commands as _commands

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="primer-corpus")
def main() -> None:
    """primer builds textbook-quality pretraining corpora.

    Web shards (WARC/WET, JSONL, Parquet) go through extraction, language ID,
    quality filters, exact and MinHash dedup and an educational-value
    classifier on Ray; kept documents land in jsonl.zst shards and every
    decision in a DuckDB ledger.

    \b
    Example:
        primer run --input 'shards/*.warc.gz' --input more.jsonl.zst --output out/
        primer stats out/
        primer sql out/ "SELECT drop_reason, count(*) FROM documents GROUP BY 1"
    """


for _info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{_commands.__name__}.{_info.name}")
    for _cmd in getattr(_module, "commands", []):
        main.add_command(_cmd)


if __name__ == "__main__":
    main()
