"""A tiny OpenAI-compatible chat-completions server, for tests and the client benchmark.

It is a real HTTP/1.1 server (asyncio, keep-alive) on a background thread, so the
production client path (httpx, sockets, retries) is exercised end to end. What it
answers is decided by a ``responder(request_body, request_number)`` that returns a
``Reply``; the default echoes the last user message. Fault injection (500s, slow
answers, garbage bodies) is a responder that returns such replies.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    content: str | None = None  # assistant text (wrapped as a completion)
    raw: bytes | None = None  # send these bytes as the body instead (garbage answers)
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[dict[str, Any], int], Reply]


def echo_responder(body: dict[str, Any], n: int) -> Reply:
    last = body["messages"][-1]["content"]
    return Reply(content=f"echo: {last}")


def completion_body(model: str, content: str, prompt: str) -> dict[str, Any]:
    """The chat-completions response shape, with word counts standing in for tokens."""
    p, c = len(prompt.split()), len(content.split())
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    }


class StubChatServer:
    """``with StubChatServer(responder) as server: server.url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, responder: Responder = echo_responder) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []  # every parsed request body, in arrival order
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> StubChatServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            # Close open keep-alive connections before the loop goes away.
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        loop, server = self._loop, self._server
        if loop and server:

            async def stop() -> None:
                server.close()
                for writer in list(self._writers):
                    writer.close()
                loop.stop()

            asyncio.run_coroutine_threadsafe(stop(), loop)
        if self._thread:
            self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", 0)))
                body = json.loads(raw or b"{}")
                with self._lock:
                    n = len(self.requests)
                    self.requests.append(body)
                    self.headers.append(headers)
                reply = self.responder(body, n)
                if reply.delay_s:
                    await asyncio.sleep(reply.delay_s)
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status == 200:
                    prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
                    payload = json.dumps(
                        completion_body(body.get("model", ""), reply.content or "", prompt)
                    ).encode()
                else:
                    payload = json.dumps(
                        {"error": {"message": "injected", "code": reply.status}}
                    ).encode()
                extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
                writer.write(
                    (
                        f"HTTP/1.1 {reply.status} X\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(payload)}\r\n{extra}Connection: keep-alive\r\n\r\n"
                    ).encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
