"""Interrupted runs: SIGTERM stops the driver and its Ray workers cleanly; the next run
marks the dead run ``interrupted`` and removes what it left half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from pipelines.config import load_config
from pipelines.pipeline import run_pipeline
from tests.pipelines.conftest import TOPICS, _doc

ROOT = Path(__file__).resolve().parents[2]


def _inputs(tmp_path: Path, n: int = 40) -> Path:
    src = tmp_path / "in.jsonl"
    rows = [{"id": f"d{i}", "text": _doc(i, TOPICS[i % len(TOPICS)])} for i in range(n)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return src


@pytest.mark.ray
def test_rerun_marks_a_stale_run_interrupted_and_removes_temp_files(ray_local, tmp_path):
    src, out = _inputs(tmp_path, 6), tmp_path / "out"
    sets = ["classify.enabled=false", "dedup.enabled=false"]
    cfg = load_config(None, sets, inputs=(str(src),), output=str(out))
    run_pipeline(cfg)
    # What a run killed with SIGKILL during classify leaves behind.
    con = duckdb.connect(str(out / "corpus.duckdb"))
    con.execute("INSERT INTO runs (run_id, status) VALUES ('killed-run', 'running')")
    con.close()
    stale = [out / "work" / "edu" / "batch-dead.tmp", out / "work" / "docs" / "x-1.tmp"]
    for d in stale:
        d.mkdir(parents=True)
        (d / "part-00000.parquet").write_bytes(b"half")
    (out / "work" / "decisions" / "10-exact-dedup.parquet.tmp").write_bytes(b"half")

    result = run_pipeline(cfg)
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    status = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
    con.close()
    assert status["killed-run"] == "interrupted"
    assert status[result.run_id] == "ok"
    assert (
        not any(p.exists() for p in stale)
        and not (out / "work" / "decisions" / "10-exact-dedup.parquet.tmp").exists()
    )
    assert not list(out.rglob("*.tmp"))


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.ray
@pytest.mark.slow
def test_sigterm_stops_the_run_and_every_ray_worker(tmp_path):
    """A real `primer run` (classify on: the model actors are the heavy workers) gets
    SIGTERM once its Ray workers are up; it exits 143 without a traceback, no process
    it started survives, and the ledger says `interrupted`."""
    src, out = _inputs(tmp_path), tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "-i", str(src), "-o", str(out)]
    cmd += ["--set", "ray.mode=ray"]  # a small input would otherwise run without Ray
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: set[int] = set()
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 240
    # Wait for Ray's worker processes (`ray::...`), then a little longer.
    while time.monotonic() < deadline and proc.poll() is None:
        for p in _descendants(proc.pid):
            if p.pid not in seen:
                seen.add(p.pid)
                workers.append(p)
        if any("ray::" in " ".join(_cmdline(p)) for p in workers):
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()
    time.sleep(3)
    workers += [p for p in _descendants(proc.pid) if p.pid not in seen]
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr and b"interrupted" in stderr
    time.sleep(3)
    alive = [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [" ".join(_cmdline(p)) for p in alive]
    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    assert con.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
    con.close()


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []
