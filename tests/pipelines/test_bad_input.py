"""Bad input: every problem becomes a `rejects` row (or a `documents` drop) with a reason,
the run goes on, and every good document in the same file is still processed."""

from __future__ import annotations

import gzip
import json

import pytest
import zstandard

from pipelines.config import load_config
from pipelines.pipeline import run_pipeline
from tests.pipelines.conftest import TOPICS, _doc
from tests.pipelines.test_run import ledger, read_corpus


def _good(prefix: str, n: int, start: int) -> list[bytes]:
    return [
        json.dumps(
            {"id": f"{prefix}{i}", "text": _doc(start + i, TOPICS[i % len(TOPICS)])}
        ).encode()
        for i in range(n)
    ]


@pytest.mark.ray
def test_bad_files_are_rejected_with_reasons_and_good_docs_survive(ray_local, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    # 1. gzip cut in the middle: the first documents are still read.
    whole = gzip.compress(b"\n".join(_good("gz", 200, 0)) + b"\n")
    (d / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    # 2. zstd frame cut short.
    whole = zstandard.ZstdCompressor().compress(
        b"\n".join(_good("zs", 2000, 1000)) + b"\n"
    )  # several blocks
    (d / "cut.jsonl.zst").write_bytes(whole[: len(whole) // 2])
    # 3. invalid UTF-8, non-objects, missing text, a 12 MB line, then good lines after them.
    giant = json.dumps({"id": "giant", "text": "word " * (12 * 2**20 // 5)}).encode()
    lines = (
        _good("mx", 2, 5000)
        + [
            b'{"id": "bad-utf8", "text": "caf\xe9 \xff"}',
            b"[1, 2]",
            b'{"id": "no-text"}',
            b"{broken",
            giant,
        ]
        + _good("after", 2, 6000)
    )
    (d / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    # 4. an empty file.
    (d / "empty.jsonl").write_bytes(b"")

    out = tmp_path / "out"
    cfg = load_config(
        None, ["classify.enabled=false", "dedup.enabled=false"], inputs=(str(d),), output=str(out)
    )
    run_pipeline(cfg)

    errors = [e for (e,) in ledger(out, "SELECT error FROM rejects ORDER BY source_file, position")]
    joined = " | ".join(errors)
    for reason in (
        "gzip",
        "zst",
        "not-an-object",
        "missing-text",
        "invalid-json",
        "record-too-large",
    ):
        assert reason in joined, f"no reject mentions {reason}: {joined}"

    ids = {r[0] for r in ledger(out, "SELECT id FROM documents")}
    assert {"mx0", "mx1", "after0", "after1"} <= ids  # good lines around the damage
    assert any(i.startswith("gz") for i in ids) and any(i.startswith("zs") for i in ids)
    assert "giant" not in ids
    kept = {doc["id"] for doc in read_corpus(out)}
    reasons = dict(ledger(out, "SELECT id, drop_reason FROM documents"))
    assert {"mx0", "after1"} <= kept, {k: v for k, v in reasons.items() if k[:2] in ("mx", "af")}
    # Every document read is either kept or has a reason.
    assert (
        ledger(out, "SELECT count(*) FROM documents WHERE NOT kept AND drop_reason IS NULL")[0][0]
        == 0
    )
