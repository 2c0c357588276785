"""One input file split into parts (pipelines/parts.py): the plan, and runs whose corpus,
ledger rows and rejects equal the unsplit run's; resume redoes only unfinished parts."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import zstandard

from pipelines.config import load_config
from pipelines.layout import Layout, shard_key
from pipelines.parts import Part, n_parts, part_keys_of, plan
from pipelines.pipeline import run_pipeline
from tests.pipelines.conftest import TOPICS, _doc
from tests.pipelines.test_run import ledger

DEMO_WARC = Path(__file__).resolve().parents[2] / "pipelines" / "demo_data" / "python-docs.warc.gz"

# --- the plan (pure) ------------------------------------------------------------------


def test_n_parts_rounds_up_and_never_zero():
    assert n_parts(0, 100) == 1
    assert n_parts(100, 100) == 1
    assert n_parts(101, 100) == 2
    assert n_parts(1000, 100) == 10


def test_parts_own_every_position_exactly_once():
    parts = plan(Path("big.jsonl.zst"), 1000, 300, block=7)
    assert [p.index for p in parts] == [0, 1, 2, 3]
    for position in range(500):
        owners = [p.index for p in parts if p.owns(position)]
        assert owners == [(position // 7) % 4]
    # blocks of 7 consecutive records, dealt round-robin
    assert [pos for pos in range(40) if parts[1].owns(pos)] == [*range(7, 14), *range(35, 40)]


def test_unsplit_file_keeps_its_shard_key_and_plain_marker():
    (whole,) = plan(Path("small.jsonl"), 10, 300, block=7)
    assert whole.key == shard_key(Path("small.jsonl"))
    assert whole.marker_fields() == {}
    assert all(whole.owns(p) for p in range(100))
    (code,) = plan(Path("big.py"), 10_000, 300, block=7, splittable=False)
    assert code.count == 1


def test_part_keys_and_items_round_trip():
    parts = plan(Path("big.jsonl.zst"), 1000, 300, block=7)
    key = shard_key(Path("big.jsonl.zst"))
    assert parts[2].key == f"{key}.part002of004"
    assert parts[2].marker_fields() == {"part": 2, "parts": 4, "block": 7}
    assert Part.from_item(parts[2].item()) == parts[2]
    names = [key, f"{key}.part000of002", f"{key}x", "other-0123456789ab", f"{key}.json"]
    assert part_keys_of(key, names) == [key, f"{key}.part000of002"]


# --- runs -------------------------------------------------------------------------------


def _lines(n: int) -> list[str]:
    """Documents with exact duplicates across blocks, junk the filters drop, rejects."""
    lines = []
    for i in range(n):
        if i % 17 == 5:
            lines.append("{not json")
        elif i % 23 == 9:
            lines.append(json.dumps({"id": f"d{i}", "text": _doc(1, TOPICS[1])}))  # dup of d1
        elif i % 11 == 3:
            lines.append(json.dumps({"id": f"d{i}", "text": "Click here."}))
        elif i % 29 == 0:
            lines.append("")  # blank lines count as positions
        else:
            lines.append(json.dumps({"id": f"d{i}", "text": _doc(i, TOPICS[i % len(TOPICS)])}))
    return lines


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    if path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    elif path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _run(inputs: list[Path], out: Path, split_bytes: int, until: str = "all", **over):
    sets = {
        "classify.enabled": "false",
        "reader.split_bytes": split_bytes,
        "reader.split_block": 4,
        "reader.batch_size": 8,
        "ray.mode": "local",
        **over,
    }
    cfg = load_config(
        None,
        [f"{k}={v}" for k, v in sets.items()],
        inputs=tuple(str(p) for p in inputs),
        output=str(out),
    )
    return run_pipeline(cfg, until=until)


def _split(path: Path, n: int) -> int:
    """``reader.split_bytes`` that makes ``path`` exactly ``n`` parts."""
    return -(-path.stat().st_size // n)


def _corpus_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.name: zstandard.ZstdDecompressor().stream_reader(p.open("rb")).read()
        for p in sorted((out / "corpus").glob("part-*.jsonl.zst"))
    }


def _rows(out: Path) -> tuple[list, list]:
    docs = ledger(out, "SELECT * FROM documents ORDER BY uid")
    rejects = ledger(out, "SELECT * FROM rejects ORDER BY source_file, position")
    return docs, rejects


def _assert_same_output(a: Path, b: Path) -> None:
    assert _corpus_bytes(a) == _corpus_bytes(b)
    assert _rows(a) == _rows(b)


@pytest.mark.parametrize("name", ["big.jsonl", "big.jsonl.zst", "big.jsonl.gz"])
def test_split_run_equals_unsplit_run(tmp_path, name):
    path = _write(tmp_path / "in" / name, _lines(90))
    small = _write(tmp_path / "in" / "small.jsonl.zst", _lines(3))  # stays whole
    split_bytes = _split(path, 3)
    assert small.stat().st_size <= split_bytes
    whole = _run([path, small], tmp_path / "whole", split_bytes=1 << 30)
    split = _run([path, small], tmp_path / "split", split_bytes=split_bytes)
    assert len(whole.ingested) == 2
    assert [s for s in split.ingested if "part" not in s] == [
        s for s in split.ingested if s["path"] == str(small)
    ]
    parts = [s for s in split.ingested if "part" in s]
    assert [s["part"] for s in sorted(parts, key=lambda s: s["part"])] == [0, 1, 2]
    assert sum(s["n_docs"] for s in parts) == next(
        s["n_docs"] for s in whole.ingested if s["path"] == str(path)
    )
    _assert_same_output(tmp_path / "whole", tmp_path / "split")
    (n_rejects,) = ledger(tmp_path / "split", "SELECT count(*) FROM rejects")[0]
    assert n_rejects > 0
    # the split file's uids are those of the unsplit file: <file key>/<position>
    key = shard_key(path)
    uids = ledger(tmp_path / "split", f"SELECT uid FROM documents WHERE uid LIKE '{key}%'")
    assert all("part" not in u for (u,) in uids)


def test_split_warc_equals_unsplit(tmp_path):
    path = tmp_path / "in" / DEMO_WARC.name
    path.parent.mkdir()
    shutil.copy(DEMO_WARC, path)
    _run([path], tmp_path / "whole", split_bytes=1 << 30, until="ingest")
    split = _run([path], tmp_path / "split", split_bytes=_split(path, 2), until="ingest")
    assert len(split.ingested) == 2
    _assert_same_output(tmp_path / "whole", tmp_path / "split")


def test_resume_inside_a_split_file_redoes_only_missing_parts(tmp_path):
    path = _write(tmp_path / "in" / "big.jsonl.zst", _lines(90))
    split_bytes = _split(path, 4)
    _run([path], tmp_path / "whole", split_bytes=1 << 30)
    out = tmp_path / "split"
    first = _run([path], out, split_bytes=split_bytes)
    assert len(first.ingested) == 4

    # A kill after parts 0 and 2 finished: part 1 wrote its docs but no marker, part 3
    # left a temp dir only. The rerun redoes 1 and 3 and nothing else.
    layout = Layout(out)
    parts = plan(path, path.stat().st_size, split_bytes, 4)
    layout.marker(parts[1].key).unlink()
    layout.marker(parts[3].key).unlink()
    docs3 = layout.docs_dir(parts[3].key)
    docs3.rename(docs3.with_name(docs3.name + ".tmp"))
    again = _run([path], out, split_bytes=split_bytes)
    assert sorted(s["part"] for s in again.ingested) == [1, 3]
    assert again.skipped_shards == 2
    _assert_same_output(tmp_path / "whole", out)

    # finished: a rerun is a no-op
    noop = _run([path], out, split_bytes=split_bytes)
    assert noop.ingested == [] and noop.up_to_date


def test_changed_split_replaces_the_old_parts(tmp_path):
    path = _write(tmp_path / "in" / "big.jsonl", _lines(60))
    _run([path], tmp_path / "whole", split_bytes=1 << 30)
    out = tmp_path / "split"
    _run([path], out, split_bytes=_split(path, 3))
    again = _run([path], out, split_bytes=_split(path, 2))
    assert sorted(s["part"] for s in again.ingested) == [0, 1]
    keys = Layout(out).work_keys()
    assert len(keys) == 2 and all(k.endswith("of002") for k in keys)
    _assert_same_output(tmp_path / "whole", out)
    unsplit = _run([path], out, split_bytes=1 << 30)  # back to one shard: the parts go
    assert len(unsplit.ingested) == 1 and Layout(out).work_keys() == [shard_key(path)]
    _assert_same_output(tmp_path / "whole", out)


@pytest.mark.ray
@pytest.mark.slow
def test_split_parts_run_as_ray_tasks(ray_local, tmp_path):
    path = _write(tmp_path / "in" / "big.jsonl.zst", _lines(60))
    _run([path], tmp_path / "whole", split_bytes=1 << 30, until="ingest")
    split = _run(
        [path],
        tmp_path / "split",
        split_bytes=_split(path, 2),
        until="ingest",
        **{"ray.mode": "ray"},
    )
    assert sorted(s["part"] for s in split.ingested) == [0, 1]
    _assert_same_output(tmp_path / "whole", tmp_path / "split")
