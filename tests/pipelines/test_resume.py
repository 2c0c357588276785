"""A run killed with SIGKILL mid-way and rerun ends with the same output as an
uninterrupted run: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines.conftest import TOPICS, _doc
from tests.pipelines.test_run import ledger, read_corpus

N_SHARDS, PER_SHARD = 8, 1500


def _primer(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def _make_shards(root: Path) -> list[str]:
    root.mkdir()
    for s in range(N_SHARDS):
        with open(root / f"s{s:02d}.jsonl", "w") as f:
            for i in range(PER_SHARD):
                n = s * PER_SHARD + i
                # every 50th document repeats one from shard 0: cross-shard duplicates
                text = _doc(n % 50 if n % 50 == 0 and s else n, TOPICS[n % len(TOPICS)])
                f.write(json.dumps({"id": f"d{n}", "text": text}) + "\n")
    return [str(root / "*.jsonl")]


@pytest.mark.ray
@pytest.mark.slow
def test_kill_and_resume_equals_clean_run(tmp_path):
    inputs = _make_shards(tmp_path / "in")
    common = [
        "--set",
        "ray.num_cpus=1",
        "--set",
        "ray.progress=false",
        "--set",
        "classify.enabled=false",
        "--set",
        "dedup.enabled=false",
        "--set",
        "reader.batch_size=100",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    clean = tmp_path / "clean"
    subprocess.run(
        _primer("run", "--input", inputs[0], "--output", str(clean), *common),
        check=True,
        env=env,
        capture_output=True,
    )

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _primer("run", "--input", inputs[0], "--output", str(killed), *common),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    done = killed / "work" / "done"
    deadline = time.time() + 240
    while time.time() < deadline and not (done.is_dir() and any(done.glob("*.json"))):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray workers, mid-run
    proc.wait()
    n_done = len(list(done.glob("*.json")))
    assert 0 < n_done < N_SHARDS, "the kill did not land mid-run"

    rerun = subprocess.run(
        _primer("run", "--input", inputs[0], "--output", str(killed), *common),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{N_SHARDS - n_done} shard(s) to process, {n_done} already done" in rerun.stdout

    assert read_corpus(killed) == read_corpus(clean)
    q = "SELECT id, kept, drop_reason, duplicate_of, n_tokens FROM documents ORDER BY id"
    assert ledger(killed, q) == ledger(clean, q)
    assert ledger(killed, "SELECT count(*) FROM documents")[0][0] == N_SHARDS * PER_SHARD
