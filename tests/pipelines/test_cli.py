"""The CLI: every command has help with a runnable example; errors are one clean line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli import main


def test_top_level_help_has_example():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "primer run" in result.output


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_has_help_with_example(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output, f"`primer {name} --help` has no example"
    assert f"primer {name}" in result.output or name in {"demo"} or "primer " in result.output


def test_bad_config_key_is_one_line_error(tmp_path):
    result = CliRunner().invoke(
        main, ["run", "--input", "x.jsonl", "--output", str(tmp_path), "--set", "filters.typo=1"]
    )
    assert result.exit_code != 0
    assert "filters.typo" in result.output and "Traceback" not in result.output


def test_missing_input_fails_before_ray(tmp_path):
    result = CliRunner().invoke(
        main, ["run", "--input", str(tmp_path / "none-*.jsonl"), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code != 0 and "Error" in result.output
    assert not (tmp_path / "o" / "work").exists()


def test_sql_formats(tmp_path):
    import duckdb

    db = tmp_path / "corpus.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE documents AS SELECT 'en' AS lang, 3 AS n")
    con.close()
    for fmt, expect in [
        ("table", "lang"),
        ("csv", "lang,n\nen,3"),
        ("json", '{"lang": "en", "n": 3}'),
    ]:
        result = CliRunner().invoke(
            main, ["sql", str(tmp_path), "SELECT * FROM documents", "--format", fmt]
        )
        assert result.exit_code == 0 and expect in result.output, result.output
    bad = CliRunner().invoke(main, ["sql", str(tmp_path), "SELECT nope FROM documents"])
    assert bad.exit_code != 0 and "nope" in bad.output


def test_shipped_configs_validate():
    from pathlib import Path

    from pipelines.config import load_config

    configs = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        load_config(path)


def test_config_command_prints_commented_defaults():
    result = CliRunner().invoke(main, ["config", "--set", "dedup.bands=20"])
    assert result.exit_code == 0
    assert "bands: 20" in result.output and "# " in result.output
