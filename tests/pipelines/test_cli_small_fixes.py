"""Small things a new user hit: help naming missing files, argument order, audience spellings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(main.commands))
def test_help_names_only_config_files_that_exist(name):
    text = CliRunner().invoke(main, [name, "--help"]).output
    for path in re.findall(r"configs/[\w.-]+\.ya?ml", text):
        assert (ROOT / path).is_file(), f"`primer {name} --help` names missing {path}"


def test_run_without_arguments_names_the_missing_input_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "no inputs" in result.output and "output" not in result.output.split("Error")[-1]
    # With an input, the output is what is missing.
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    result = CliRunner().invoke(main, ["run", "--input", "a.jsonl"])
    assert result.exit_code != 0 and "no output directory" in result.output


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("high school", "high_school"),
        ("High-School", "high_school"),
        ("high_school", "high_school"),
        ("  Young children ", "young_children"),
        ("professional", "professionals"),
        ("College", "college"),
    ],
)
def test_audience_spellings(spelling, canonical):
    from synth.prompts import build_prompt, canonical_audience, plan_prompts
    from synth.topics import Topic

    assert canonical_audience(spelling) == canonical
    assert build_prompt(Topic("tides"), spelling, "textbook", seed=1).audience == canonical
    same = plan_prompts([Topic("tides")], 3, audiences=[spelling])
    assert same == plan_prompts([Topic("tides")], 3, audiences=[canonical])


def test_synth_accepts_high_school_and_rejects_a_typo_before_any_model(tmp_path):
    args = ["synth", "--output", str(tmp_path / "o"), "--n", "1", "--backend", "openai"]
    bad = CliRunner().invoke(main, [*args, "--set", "synth.audiences=[hihg school]"])
    assert bad.exit_code == 1 and "unknown audience 'hihg school'" in bad.output
    assert "high school" in bad.output and "Traceback" not in bad.output
