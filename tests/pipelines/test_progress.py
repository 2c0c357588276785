"""Progress lines: redrawn in place on a terminal (tested under a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import time

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
