"""Option decorators and error handling shared by commands (same flag names everywhere)."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable

import click

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="YAML config file (see configs/).",
)
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override any config key, e.g. --set filters.min_lang_score=0.5 (repeatable).",
)


def inputs_argument(fn: Callable) -> Callable:
    """``INPUT...``: files, globs or folders in any format primer reads."""
    return click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")(fn)


def input_option(help: str = "Input files/globs/folders (repeatable).") -> Callable:
    """``--input`` (repeatable, required) for commands whose arguments are something else."""
    return click.option("--input", "inputs", multiple=True, required=True, help=help)


def _jsonl_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.lower().endswith((".jsonl", ".jsonl.gz", ".jsonl.zst")):
        raise click.BadParameter("must end in .jsonl, .jsonl.gz or .jsonl.zst")
    return value


def jsonl_output_option(help: str = "JSON Lines file to write.") -> Callable:
    """``--output/-o FILE``: .jsonl, .jsonl.gz or .jsonl.zst (compression by name), checked."""
    return click.option(
        "--output",
        "-o",
        required=True,
        type=click.Path(dir_okay=False, writable=True),
        callback=_jsonl_path,
        help=f"{help} (.jsonl, .jsonl.gz or .jsonl.zst)",
    )


def output_dir_option(help: str = "Output directory.", default: str | None = None) -> Callable:
    """``--output/-o DIR`` (required unless it has a default)."""
    return click.option(
        "--output",
        "-o",
        required=default is None,
        default=default,
        show_default=default is not None,
        type=click.Path(file_okay=False),
        help=help,
    )


def model_dir_option(help: str = "Model directory (default: the shipped model).") -> Callable:
    """``--model DIR`` for commands that load a trained classifier."""
    return click.option(
        "--model", "model_dir", default=None, type=click.Path(file_okay=False), help=help
    )


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    from pipelines import progress

    if value:
        progress.set_level(progress.VERBOSE if param.name == "verbose" else progress.QUIET)
    return value


verbosity_options = [
    click.option(
        "--verbose",
        "-v",
        is_flag=True,
        expose_value=False,
        callback=_set_verbosity,
        help="Also show Ray's own logs and progress bars.",
    ),
    click.option(
        "--quiet",
        "-q",
        is_flag=True,
        expose_value=False,
        callback=_set_verbosity,
        help="Print nothing but errors.",
    ),
]


def verbosity(fn: Callable) -> Callable:
    """``--verbose`` / ``--quiet`` (pipelines.progress levels)."""
    for option in reversed(verbosity_options):
        fn = option(fn)
    return fn


def user_errors(fn: Callable) -> Callable:
    """Turn expected user errors (bad config, missing input) into one clean line."""
    from corpus.readers.inputs import InputError
    from pipelines.config import ConfigError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, InputError, FileNotFoundError, ValueError) as e:
            raise click.ClickException(
                str(e).splitlines()[0] if str(e) else type(e).__name__
            ) from e
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM (pipelines.interrupt): no traceback
            sigterm = str(e) == f"signal {signal.SIGTERM}"
            click.echo(
                "[primer] interrupted; Ray workers stopped. Rerun the same command to resume.",
                err=True,
            )
            sys.exit(128 + (signal.SIGTERM if sigterm else signal.SIGINT))

    return wrapper
