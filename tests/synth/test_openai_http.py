"""The chat client against a real local HTTP server speaking chat-completions."""

from __future__ import annotations

import json
import threading

import pytest

from synth.backends.openai_http import ChatClient, Journal, chat_url, request_key
from synth.backends.stub_server import Reply, StubChatServer


def convo(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def fast_client(url: str, **kw) -> ChatClient:
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_max_s", 0.05)
    return ChatClient(url, "stub-model", **kw)


def test_chat_url_forms():
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/chat/completions") == "http://h:1/v1/chat/completions"


def test_results_in_order_usage_and_auth(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sekret")
    with StubChatServer() as server:
        client = fast_client(server.url, api_key_env="MY_KEY", params={"temperature": 0.2})
        results = client.complete([convo(f"q{i} a b") for i in range(20)])
    assert [r.text for r in results] == [f"echo: q{i} a b" for i in range(20)]
    assert all(
        r.usage == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7} for r in results
    )
    assert client.usage.prompt_tokens == 60 and client.usage.completion_tokens == 80
    assert all(h["authorization"] == "Bearer sekret" for h in server.headers)
    assert all(b["temperature"] == 0.2 and b["model"] == "stub-model" for b in server.requests)


def test_concurrency_is_bounded():
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def responder(body, n):  # runs when a request arrives; the delay keeps it in flight
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        return Reply(content="ok", delay_s=0.05)

    with StubChatServer(responder) as server:
        client = fast_client(server.url, concurrency=3)
        send = client._send

        async def tracked(http, key, messages):
            try:
                return await send(http, key, messages)
            finally:
                with lock:
                    state["now"] -= 1

        client._send = tracked  # type: ignore[method-assign]
        results = client.complete([convo(str(i)) for i in range(12)])
    assert all(r.text == "ok" for r in results)
    assert 1 < state["peak"] <= 3


def test_retries_500_then_success():
    def responder(body, n):
        return Reply(status=500) if n < 2 else Reply(content="fine")

    with StubChatServer(responder) as server:
        client = fast_client(server.url)
        (res,) = client.complete([convo("x")])
    assert res.text == "fine" and res.attempts == 3
    assert client.usage.retries == 2 and client.usage.requests == 3


def test_429_retry_after_is_honoured_and_400_is_not_retried():
    def responder(body, n):
        if body["messages"][0]["content"] == "bad":
            return Reply(status=400)
        return Reply(status=429, headers={"Retry-After": "0.01"}) if n == 0 else Reply(content="ok")

    with StubChatServer(responder) as server:
        client = fast_client(server.url, concurrency=1)
        ok, bad = client.complete([convo("good"), convo("bad")])
    assert ok.text == "ok"
    assert bad.text is None and bad.error.startswith("http-400") and bad.attempts == 1


def test_slow_answer_times_out_then_gives_up():
    with StubChatServer(lambda b, n: Reply(content="late", delay_s=1.0)) as server:
        client = fast_client(server.url, timeout_s=0.1, max_retries=1)
        (res,) = client.complete([convo("x")])
    assert res.text is None and res.error.startswith("timeout")
    assert client.usage.failures == 1 and client.usage.requests == 2


def test_garbage_answer_is_retried_then_reported():
    with StubChatServer(lambda b, n: Reply(raw=b"<html>oops</html>")) as server:
        client = fast_client(server.url, max_retries=2)
        (res,) = client.complete([convo("x")])
    assert res.text is None and res.error.startswith("bad-response")
    assert res.attempts == 3

    with StubChatServer(lambda b, n: Reply(raw=json.dumps({"choices": []}).encode())) as server:
        (res,) = fast_client(server.url, max_retries=0).complete([convo("x")])
    assert res.error.startswith("bad-response: IndexError")


def test_journal_makes_rerun_free_and_skips_failures(tmp_path):
    cache = tmp_path / "journal.jsonl"

    def responder(body, n):
        text = body["messages"][0]["content"]
        return Reply(status=503) if text == "flaky" else Reply(content=text.upper())

    with StubChatServer(responder) as server:
        first = fast_client(server.url, cache_path=cache, max_retries=0)
        first.complete([convo("a"), convo("b"), convo("flaky")])
        sent_first = len(server.requests)
        second = fast_client(server.url, cache_path=cache, max_retries=0)
        again = second.complete([convo("a"), convo("b"), convo("flaky")])
    assert sent_first == 3
    assert len(server.requests) == 4  # only the failed prompt was sent again
    assert [r.text for r in again] == ["A", "B", None]
    assert [r.cached for r in again] == [True, True, False]
    assert second.usage.cache_hits == 2


def test_journal_tolerates_torn_last_line(tmp_path):
    path = tmp_path / "j.jsonl"
    key = request_key("m", convo("a"), {})
    path.write_text(json.dumps({"key": key, "text": "A"}) + "\n" + '{"key": "tr')
    journal = Journal(path)
    assert len(journal) == 1 and journal.get(key)["text"] == "A"


def test_params_change_the_cache_key():
    assert request_key("m", convo("a"), {"temperature": 0}) != request_key(
        "m", convo("a"), {"temperature": 1}
    )
    assert request_key("m", convo("a"), {}) != request_key("n", convo("a"), {})


def test_rejects_bad_concurrency():
    with pytest.raises(ValueError):
        ChatClient("http://x", "m", concurrency=0)
