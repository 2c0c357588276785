"""``primer``: the command line. Each command lives in ``pipelines/commands/<name>.py``
and exposes ``commands`` (a list of click commands); this module only gathers them.

\b
Example:
    primer run --input 'shards/*.warc.gz' --output out/
    primer sql out/ "SELECT lang, count(*) FROM documents WHERE kept GROUP BY lang"
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys

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


def entry() -> None:
    """The ``primer`` command: ``main``, then, where the command started Ray, a quick exit.

    Once Ray is stopped, tearing down an interpreter that loaded torch and
    sentence-transformers takes ~2 s more; a finished command has nothing else to clean
    up (files are closed, temp dirs removed by their ``with``), so its streams are
    flushed and the process ends. CliRunner tests call ``main``, not this.
    """
    from pipelines import ray_backend as rb

    rb.stop_on_release()  # a run stops Ray while it writes the ledger
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code
    if not rb.started():
        sys.exit(code)
    rb.shutdown()
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
