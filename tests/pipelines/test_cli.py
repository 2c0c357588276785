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


@pytest.mark.parametrize(
    ("raised", "ray_on", "code", "stderr"),
    [(0, True, 0, ""), (2, True, 2, ""), ("boom", True, 1, "boom"), (3, False, 3, "")],
)
def test_entry_stops_ray_then_exits_with_main_s_code(
    monkeypatch, capsys, raised, ray_on, code, stderr
):
    """`primer`: where the command started Ray, Ray is stopped and the process ends at
    once (os._exit, the code main chose); otherwise a normal exit."""
    import os

    from pipelines import cli
    from pipelines import ray_backend as rb

    calls = []

    def fake_main():
        raise SystemExit(raised)

    class Exited(Exception):
        pass

    def fake_exit(c):
        calls.append(("_exit", c))
        raise Exited

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setattr(rb, "started", lambda: ray_on)
    monkeypatch.setattr(rb, "_release_stops", False)  # entry sets it; restored after
    monkeypatch.setattr(rb, "shutdown", lambda: calls.append(("shutdown",)))
    monkeypatch.setattr(os, "_exit", fake_exit)
    with pytest.raises(Exited if ray_on else SystemExit) as e:
        cli.entry()
    if ray_on:
        assert calls == [("shutdown",), ("_exit", code)]
    else:
        assert calls == [] and e.value.code == code
    assert capsys.readouterr().err.strip() == stderr
    rb.release()  # entry made a run's release stop Ray
    assert calls[-1] == ("shutdown",)


def test_release_keeps_ray_unless_the_command_exits_next(monkeypatch):
    from pipelines import ray_backend as rb

    calls = []
    monkeypatch.setattr(rb, "shutdown", lambda: calls.append("shutdown"))
    monkeypatch.setattr(rb, "_release_stops", False)
    rb.release()  # a library caller's next run reuses Ray
    assert calls == []
    rb.stop_on_release()
    rb.release()
    assert calls == ["shutdown"]
