"""Progress lines: redrawn in place on a terminal (tested under a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import re
import sys
import time
from pathlib import Path

import pytest

from pipelines import progress
from pipelines.progress import Progress


def _read_all(fd: int) -> str:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out.decode()


@pytest.fixture()
def terminal():
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    yield master, stream
    os.close(master)


def test_progress_redraws_one_line_with_rate_and_eta_on_a_terminal(terminal, monkeypatch):
    master, stream = terminal
    monkeypatch.setattr(progress, "DRAW_EVERY_S", 0.0)
    p = Progress("classify", total=10, stream=stream)
    p.start -= 2.0  # as if it had been running for 2 s
    p.update(5)
    time.sleep(0.01)
    p.update(3)
    p.close("4 below min_edu_score 3.0")
    stream.close()
    out = _read_all(master)
    draws = out.split("\r\x1b[K")
    assert draws[1].startswith("[primer] classify: 5/10 docs (50%)") and "ETA " in draws[1]
    assert "docs/s" in draws[1] and "\n" not in draws[1]  # same line, redrawn
    assert draws[2].startswith("[primer] classify: 8/10 docs (80%)")
    assert draws[-1].startswith("[primer] classify: 8 docs in ") and draws[-1].endswith(
        ", 4 below min_edu_score 3.0\r\n"
    )


def test_log_files_get_a_line_per_interval_not_per_update(tmp_path, monkeypatch):
    log = (tmp_path / "log.txt").open("w")
    monkeypatch.setattr(progress, "LOG_EVERY_S", 3600.0)
    p = Progress("ingest", stream=log)
    for _ in range(100):
        p.update(10)
    p.close()
    log.close()
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[primer] ingest: 1,000 docs in ")


def test_quiet_prints_nothing(terminal, monkeypatch):
    master, stream = terminal
    monkeypatch.setattr(progress, "_level", progress.QUIET)
    p = Progress("ingest", total=3, stream=stream)
    p.update(3, force=True)
    p.close()
    progress.say("hello")
    stream.write("END")
    stream.close()
    assert _read_all(master) == "END"


def _run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    pid, fd = pty.fork()
    if pid == 0:  # child: the terminal is the pty
        os.execvpe(sys.executable, [sys.executable, "-m", "pipelines.cli", *args], env)
    out = _read_all(fd)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


@pytest.mark.ray
@pytest.mark.slow
def test_primer_run_on_a_terminal_shows_stage_progress_and_no_ray_noise(tmp_path):
    """`primer run` under a pseudo-terminal: a progress line for ingest, near dedup and
    classify (documents, docs/s), none of Ray's logs; `--quiet` prints nothing."""
    from tests.pipelines.conftest import TOPICS, _doc

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": _doc(i, t)}) + "\n" for i, t in enumerate(TOPICS)
        )
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "TERM": "xterm"}
    args = ["run", "-i", str(src), "-o", str(tmp_path / "out"), "--set", "ray.mode=ray"]
    code, out = _run_in_pty(args, env)
    assert code == 0, out[-3000:]
    for stage in ("ingest", "near dedup", "classify"):
        assert re.search(rf"\[primer\] {stage}: [\d,]+ docs in .* docs/s\)", out), (stage, out)
    assert "\r\x1b[K[primer] classify: " in out  # drawn in place
    # None of Ray's Python logs, Ray Data progress bars, forwarded worker output or model
    # loading bars. (Ray's raylet/core-worker C++ messages can still reach stderr: Ray
    # 2.60 prints them whatever the driver's settings; see the report in issue 11.)
    ray_noise = re.compile(r"INFO|logging_progress|Running Dataset|\(MapWorker|it/s\]|Traceback")
    assert not ray_noise.search(out), out[-3000:]
    code, out = _run_in_pty(["run", "-q", "-i", str(src), "-o", str(tmp_path / "out2")], env)
    assert code == 0 and out.strip() == "", out[-3000:]
