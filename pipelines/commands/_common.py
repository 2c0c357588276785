"""Option decorators and error handling shared by commands (same flag names everywhere)."""

from __future__ import annotations

import functools
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

    return wrapper
