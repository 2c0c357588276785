"""`primer run` through local Ray on the real shared Common Crawl samples."""

from __future__ import annotations

import json

import pytest
import zstandard
from click.testing import CliRunner

from pipelines.cli import main
from tests.pipelines.test_run import ledger


@pytest.mark.ray
@pytest.mark.shared
def test_run_on_shared_web_and_warc(ray_local, shared_data, tmp_path):
    out = tmp_path / "out"
    inputs = [
        str(shared_data / "web" / "c4-en-sample.jsonl.gz"),
        str(shared_data / "web" / "cc-main-2019-30-sample.jsonl.gz"),
        str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"),
    ]
    args = [
        "run",
        "--output",
        str(out),
        "--set",
        "classify.enabled=false",
        "--set",
        "ray.progress=false",
    ]
    for i in inputs:
        args += ["--input", i]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ledger:" in result.output

    # One ledger row per input record (the WARC's 16 HTML responses are rows or rejects).
    counts = dict(
        ledger(
            out, "SELECT regexp_extract(source_file, '[^/]+$'), count(*) FROM documents GROUP BY 1"
        )
    )
    rejects = dict(
        ledger(
            out, "SELECT regexp_extract(source_file, '[^/]+$'), count(*) FROM rejects GROUP BY 1"
        )
    )
    assert counts["c4-en-sample.jsonl.gz"] == 800
    assert counts["cc-main-2019-30-sample.jsonl.gz"] == 447
    warc = "cc-main-2020-34-excerpt.warc.gz"
    assert counts.get(warc, 0) + rejects.get(warc, 0) == 16

    # C4 is already clean and English: it keeps far more than the raw CC crawl.
    share = dict(
        ledger(
            out,
            "SELECT regexp_extract(source_file, '[^/]+$'), avg(kept::INT) FROM documents GROUP BY 1",
        )
    )
    assert share["c4-en-sample.jsonl.gz"] > 0.6 > share["cc-main-2019-30-sample.jsonl.gz"]

    # Shards load with plain zstandard + json and match the ledger.
    n = 0
    for part in sorted((out / "corpus").glob("part-*.jsonl.zst")):
        with zstandard.ZstdDecompressor().stream_reader(part.open("rb")) as r:
            for line in r.read().decode().splitlines():
                doc = json.loads(line)
                assert doc["text"] and doc["id"] and doc["metadata"]["n_tokens"] > 0
                n += 1
    assert n == ledger(out, "SELECT count(*) FROM documents WHERE kept")[0][0] > 0

    # A rerun is a no-op.
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "3 shard(s) already done" in again.output and "nothing to do" in again.output
