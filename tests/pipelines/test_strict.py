"""Exit status for CI: `primer run` fails (after writing everything) on junk input files."""

from __future__ import annotations

import json
import logging
import random

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from tests.pipelines.test_run import ledger


def _run(out, inputs, *extra):
    args = ["run", "--output", str(out), "--set", "classify.enabled=false"]
    args += ["--set", "ray.progress=false", *extra]
    for i in inputs:
        args += ["--input", str(i)]
    return CliRunner().invoke(main, args)


@pytest.mark.ray
@pytest.mark.slow
def test_junk_file_fails_the_run_after_the_ledger_is_written(
    ray_local, web_shards, tmp_path, caplog
):
    junk = tmp_path / "in" / "upload.jsonl"
    junk.write_bytes(random.Random(0).randbytes(100_000))  # a binary file with a JSONL name
    (tmp_path / "in" / "notes.txt").write_text("not an input\n")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="primer.inputs"):
        result = _run(out, [tmp_path / "in"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert any("skipped input file" in m and "notes.txt" in m for m in caplog.messages)
    assert "1 input file(s) over --max-reject-rate 0.5" in result.output
    assert "upload.jsonl: 0 documents, 1 rejects (100%)" in result.output
    # Everything was written first: corpus, documents, and one reject row for the binary file.
    assert (out / "corpus").is_dir()
    assert ledger(out, "SELECT count(*) FROM documents")[0][0] == web_shards["n_docs"]
    junk_rows = ledger(out, f"SELECT error FROM rejects WHERE source_file = '{junk}'")
    assert len(junk_rows) == 1 and junk_rows[0][0].startswith("binary-data:")
    (counts,) = ledger(out, "SELECT counts FROM runs ORDER BY started DESC LIMIT 1")[0]
    assert json.loads(counts)["reject_check"]["files_over"] == [str(junk)]

    # Reruns of the same output (up to date, no work): the check off passes; a stricter
    # limit also catches a.jsonl (3 rejects in 11 records).
    again = _run(out, [tmp_path / "in"], "--max-reject-rate", "1")
    assert again.exit_code == 0, again.output
    strict = _run(out, [tmp_path / "in"], "--max-reject-rate", "0.2")
    assert strict.exit_code == 1 and "2 input file(s)" in strict.output
    assert "a.jsonl: 8 documents, 3 rejects (27%)" in strict.output


def test_only_junk_inputs_is_one_clean_error(tmp_path):
    junk = tmp_path / "upload.jsonl"
    junk.write_bytes(random.Random(1).randbytes(5_000))
    result = _run(tmp_path / "out", [junk], "--set", "ray.mode=local")
    assert result.exit_code == 1, result.output
    assert "no documents in any input (1 file(s))" in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
