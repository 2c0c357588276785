"""Executed exercises: real sandboxed subprocess runs, the synth gate and the code shard."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest
import zstandard

from pipelines.profiles import ProfilesConfig, profile_of
from synth.config import GateConfig, SynthConfig
from synth.exec import network_isolation, parse_exercise, run_exercise
from synth.gates import Gates

GOOD = '''def add(a: int, b: int) -> int:
    """Add two numbers of apples.

    >>> add(1, 2)
    3
    >>> add(-1, 1)
    0
    """
    return a + b
'''


BAD = '''def area(width: float, height: float) -> float:
    """Return the area of a rectangular garden bed measured in metres.

    >>> area(2.0, 3.0)
    6.0
    """
    return width + height
'''


def test_passing_exercise_from_a_fenced_answer():
    text = "Here is the exercise:\n\n```python\n" + GOOD + "```\nHope it helps."
    ex = parse_exercise(text)
    assert ex.n_doctests == 2 and ex.syntax_error is None and "Hope" not in ex.code
    r = run_exercise(text)
    assert r.status == "passed" and r.n_tests == 2


def test_wrong_solution_fails():
    r = run_exercise(GOOD.replace("return a + b", "return a - b"))
    assert r.status == "failed"


def test_asserts_and_test_functions_count_as_tests():
    code = "def sq(x):\n    return x * x\n\nassert sq(3) == 9\n\ndef test_sq():\n    assert sq(2) == 4\n"
    assert run_exercise(code).status == "passed"
    main_guard = (
        "def sq(x):\n    return x * x\n\nif __name__ == '__main__':\n    assert sq(3) == 10\n"
    )
    assert parse_exercise(main_guard).n_asserts == 1
    assert run_exercise(main_guard).status == "failed"


def test_syntax_error_and_no_tests():
    assert run_exercise("def f(:\n    pass").status == "syntax_error"
    assert run_exercise("Write a function that adds numbers.").status == "syntax_error"
    assert run_exercise("def f():\n    return 1\n").status == "no_tests"


def test_infinite_loop_is_killed_on_timeout():
    code = 'def spin():\n    """\n    >>> spin()\n    """\n    while True:\n        pass\n'
    r = run_exercise(code, timeout_s=3, cpu_s=2)
    assert r.status == "timeout" and r.seconds < 10


def test_sleeping_child_process_group_is_killed():
    code = (
        "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)\nassert True\n"
    )
    r = run_exercise(code, timeout_s=2)
    assert r.status == "timeout"


def _server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(0.5)
    return srv


def test_network_is_blocked_by_the_guard():
    # A real server on 127.0.0.1: reachable from here, not from the sandbox.
    srv = _server()
    port = srv.getsockname()[1]
    try:
        for mod in ("socket", "_socket"):  # the guard covers the raw module too
            ctor = (
                "socket.socket(socket.AF_INET, socket.SOCK_STREAM)"
                if mod == "socket"
                else "_socket.socket(2, 1)"
            )
            code = f"import {mod}\ndef test_connect():\n    s = {ctor}\n    s.connect(('127.0.0.1', {port}))\n"
            r = run_exercise(code)
            assert r.status == "failed" and "disabled" in r.detail, r
    finally:
        srv.close()


@pytest.mark.skipif(not network_isolation(), reason="no network namespace here (unshare)")
def test_network_namespace_stops_a_child_without_the_guard():
    srv = _server()
    port = srv.getsockname()[1]
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(_accept(srv)), daemon=True)
    t.start()
    try:
        child = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        code = (
            "import subprocess, sys\ndef test_child():\n"
            f"    subprocess.run([sys.executable, '-I', '-c', {child!r}], check=True)\n"
        )
        r = run_exercise(code)
        assert r.status == "failed", r
        t.join(3)
        assert accepted == [None]
    finally:
        srv.close()


def _accept(srv):
    try:
        return srv.accept()
    except OSError:
        return None


def test_memory_bomb_is_capped():
    code = "def test_bomb():\n    blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]\n"
    r = run_exercise(code, memory_mb=256)
    assert r.status == "failed" and "MemoryError" in r.detail


def test_gate_keeps_only_passing_exercises_unless_told():
    texts = [GOOD, BAD, "def f(:\n" + "word " * 60]
    cfg = GateConfig(min_words=5)
    d = Gates(cfg, scorer=lambda t: np.full(len(t), 3.0)).apply(
        ["a", "b", "c"], texts, ["code_exercise"] * 3
    )
    assert [x.exec_status for x in d] == ["passed", "failed", "syntax_error"]
    assert [x.drop_reason for x in d] == [None, "exec:failed", "exec:syntax_error"]
    keep = GateConfig(min_words=5, keep_failed_exec=True)
    d = Gates(keep, scorer=lambda t: np.full(len(t), 3.0)).apply(
        ["a", "b"], texts[:2], ["code_exercise"] * 2
    )
    assert [x.kept for x in d] == [True, True] and d[1].exec_status == "failed"
    prose = Gates(cfg, scorer=lambda t: np.full(len(t), 3.0)).apply(
        ["p"], ["word " * 60 + "."], ["textbook"]
    )
    assert prose[0].exec_status is None and prose[0].kept


def test_synth_writes_exercises_to_a_code_shard(tmp_path):
    from synth.backends.stub_server import Reply, StubChatServer
    from synth.run import run_synth
    from synth.topics import Topic

    def reply(body, n):
        prompt = body["messages"][-1]["content"]
        if "Output only Python code" in prompt:
            return Reply(content=BAD if "recursion" in prompt else GOOD)
        return Reply(content="A long textbook passage about the topic. " * 20)

    cfg = SynthConfig(n=4, chunk_size=4, seed=0, formats=["code_exercise"])
    cfg.backend, cfg.openai.max_retries = "openai", 0
    cfg.gates.min_words = 5
    cfg.decontam.code.embed = False  # the AST check runs; MiniLM's load is not this test's
    topics = [Topic("fractions"), Topic("recursion"), Topic("volcanoes"), Topic("loops")]
    with StubChatServer(reply) as server:
        cfg.openai.endpoint, cfg.openai.model = server.url, "stub"
        gates = Gates(cfg.gates, cfg.decontam, scorer=lambda t: np.full(len(t), 3.0))
        report = run_synth(topics, cfg, tmp_path, gates=gates)
    rows = [json.loads(line) for line in (tmp_path / "synth-work/gates/part-00000.jsonl").open()]
    statuses = [r.get("exec_status") for r in rows]
    # identical passing answers: the first passes, the rest are near-dups (never run)
    assert "failed" in statuses and "passed" in statuses
    code_shard = tmp_path / "synth" / "code-part-00000.jsonl.zst"
    with zstandard.open(code_shard, "rt") as f:
        docs = [json.loads(line) for line in f]
    assert report.kept == len(docs) == 1
    assert docs[0]["metadata"]["exec_status"] == "passed"
    assert docs[0]["metadata"]["lang"] == "python"
    assert report.dropped.get("exec") == 1
    profiles = ProfilesConfig()
    assert profile_of(code_shard, "auto", profiles) == "code"
    assert profile_of(code_shard, "web", profiles) == "code"
    assert profile_of(tmp_path / "synth" / "part-00000.jsonl.zst", "code", profiles) == "web"
    assert profile_of(tmp_path / "data" / "part-00000.jsonl.zst", "auto", profiles) == "web"
