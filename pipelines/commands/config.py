"""``primer config``: print the full default config as commented YAML, or check a file."""

from __future__ import annotations

import click
import yaml
from pydantic import BaseModel

from pipelines.commands._common import config_option, set_option, user_errors


def commented_yaml(model: BaseModel, indent: int = 0) -> str:
    """YAML of ``model``'s values with each field's description as a comment."""
    lines = []
    pad = "  " * indent
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        comment = f"  # {field.description}" if field.description else ""
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:{comment}")
            lines.append(commented_yaml(value, indent + 1))
        else:
            dumped = yaml.safe_dump(
                value if not isinstance(value, BaseModel) else value.model_dump(mode="json"),
                default_flow_style=True,
                width=1000,
            ).strip()
            dumped = dumped.removesuffix("\n...").removesuffix("...").strip()
            lines.append(f"{pad}{name}: {dumped}{comment}")
    return "\n".join(line for line in lines if line)


@click.command("config")
@config_option
@set_option
@user_errors
def config_command(config_path, overrides):
    """Print the effective config (defaults, then --config, then --set) as commented YAML.

    Use it to start a config file or to check one: a bad key fails with its name.

    \b
    Example:
        primer config > my.yaml
        primer config --config configs/web.yaml --set dedup.bands=20
    """
    from pipelines.config import load_config

    click.echo(commented_yaml(load_config(config_path, overrides)))


commands = [config_command]
