"""``primer score --profile code``: the shipped code edu model over source files."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from classifiers.code.model import load_code_model
from pipelines.cli import main

TEACHING = '''"""Binary search over a sorted list, with the invariant spelled out."""


def bisect_left(items, target):
    """Index of the first element >= target; items must be sorted."""
    lo, hi = 0, len(items)
    while lo < hi:  # invariant: items[:lo] < target <= items[hi:]
        mid = (lo + hi) // 2
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo
'''

TABLE = "CODES = {\n" + "".join(f"    {i}: 0x{i * 7919 % 65536:04x},\n" for i in range(200)) + "}\n"

SMALL = "import os\nimport sys\n"


def test_score_code_profile_on_python_files(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = {"search.py": TEACHING, "table.py": TABLE, "imports.py": SMALL}
    for name, text in files.items():
        (src / name).write_text(text)
    out = tmp_path / "scores.jsonl"
    res = CliRunner().invoke(main, ["score", "--profile", "code", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3
    by_name = {r["path"].rsplit("/", 1)[-1] if "path" in r else r["id"]: r for r in rows}
    assert set(by_name) == set(files)
    expected = load_code_model().predict([files[n] for n in by_name])
    got = np.array([r["edu_score"] for r in by_name.values()])
    assert np.allclose(got, np.round(expected, 4))
    assert all(r["edu_int"] == int(np.clip(np.floor(r["edu_score"] + 0.5), 0, 5)) for r in rows)
    assert by_name["search.py"]["edu_score"] > by_name["table.py"]["edu_score"]


def test_code_profile_has_no_cascade(tmp_path):
    (tmp_path / "a.py").write_text(TEACHING)
    res = CliRunner().invoke(
        main, ["score", "--profile", "code", "--cascade", str(tmp_path), "-o", "x.jsonl"]
    )
    assert res.exit_code != 0 and "no cascade student" in res.output


def test_web_profile_does_not_read_source_files(tmp_path):
    (tmp_path / "a.py").write_text(TEACHING)
    res = CliRunner().invoke(
        main, ["score", str(tmp_path / "a.py"), "-o", str(tmp_path / "o.jsonl")]
    )
    assert res.exit_code != 0 and "unknown file type" in res.output


def test_score_rows_batches_in_order_and_rounds():
    from classifiers.scoring import score_rows

    calls = []

    def predict(texts):
        calls.append(len(texts))
        return np.array([len(t) / 2 for t in texts])

    rows = [{"id": str(i), "text": "x" * i} for i in range(7)]
    out = list(score_rows(rows, predict, batch_size=3))
    assert calls == [3, 3, 1]
    assert [r["id"] for r in out] == [str(i) for i in range(7)]
    assert [r["edu_score"] for r in out] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert [r["edu_int"] for r in out] == [0, 1, 1, 2, 2, 3, 3]  # round half up
