"""One OpenAI-compatible chat-completions client, shared by ``primer annotate`` and the
synth ``openai`` backend.

It talks to anything that serves ``POST {endpoint}/chat/completions`` (vLLM,
llama.cpp server, TGI, Ollama, hosted APIs). Why each piece is there:

- a semaphore bounds in-flight requests, so a 10k-prompt job does not open 10k sockets;
- 429 / 5xx / timeouts / connection errors / unreadable bodies are retried with
  exponential backoff and full jitter (honouring ``Retry-After``), because servers
  under load shed requests and a retry storm in lockstep makes it worse;
- a JSONL journal keyed by a hash of (model, messages, params) records every finished
  answer as soon as it arrives, so a rerun after a crash or Ctrl-C pays only for
  what is missing. Failures are not journaled: a rerun tries them again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

Message = dict[str, str]
Messages = list[Message]

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass
class Usage:
    """Token and request accounting, summed over a client's lifetime."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # HTTP requests sent, retries included
    retries: int = 0
    cache_hits: int = 0
    failures: int = 0  # prompts that exhausted their retries

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "requests": self.requests,
            "retries": self.retries,
            "cache_hits": self.cache_hits,
            "failures": self.failures,
        }


@dataclass
class ChatResult:
    key: str  # cache key of the request
    text: str | None  # the assistant message; None when the request failed
    usage: dict[str, int] = field(default_factory=dict)  # this request's `usage` field
    model: str = ""
    finish_reason: str | None = None
    error: str | None = None
    cached: bool = False
    attempts: int = 0


class ResponseError(Exception):
    """A 200 answer we cannot read (not JSON, no choices): retried like a 5xx."""


def request_key(model: str, messages: Sequence[Message], params: dict[str, Any]) -> str:
    """Stable hash of what determines the answer; the journal's key."""
    blob = json.dumps(
        {"model": model, "messages": list(messages), "params": params},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def chat_url(endpoint: str) -> str:
    """Accept ``http://h:p``, ``http://h:p/v1`` or the full ``.../chat/completions`` URL."""
    url = endpoint.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if not url.endswith("/v1"):
        url += "/v1"
    return url + "/chat/completions"


class Journal:
    """Append-only JSONL cache ``{key, text, usage, model, finish_reason}``.

    Each line is written and flushed whole; a torn last line (killed mid-write) is
    skipped on load, so the journal never blocks a rerun.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if self.path and self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(entry, dict) and "key" in entry:
                        self._entries[entry["key"]] = entry

    def get(self, key: str) -> dict[str, Any] | None:
        return self._entries.get(key)

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries[entry["key"]] = entry
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
                f.flush()


class ChatClient:
    """Async chat-completions client with bounded concurrency, retries and a journal.

    ``params`` (temperature, max_tokens, ...) go into every request body and into
    the cache key. ``complete`` is the synchronous entry point for CLI code.
    """

    def __init__(
        self,
        endpoint: str,
        model: str,
        *,
        params: dict[str, Any] | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        cache_path: str | Path | None = None,
        seed: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.url = chat_url(endpoint)
        self.model = model
        self.params = dict(params or {})
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.journal = Journal(cache_path)
        self.usage = Usage()
        self._rng = random.Random(seed)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff; a server's Retry-After is a floor."""
        cap = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        delay = self._rng.uniform(0, cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max_s))
        return delay

    def complete(self, conversations: Sequence[Messages]) -> list[ChatResult]:
        """Send every conversation (results in input order); blocks until all finish."""
        return asyncio.run(self.acomplete(conversations))

    async def acomplete(self, conversations: Sequence[Messages]) -> list[ChatResult]:
        semaphore = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(
            max_connections=self.concurrency, max_keepalive_connections=self.concurrency
        )
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s), limits=limits, headers=self._headers()
        ) as http:

            async def one(messages: Messages) -> ChatResult:
                key = request_key(self.model, messages, self.params)
                hit = self.journal.get(key)
                if hit is not None:
                    self.usage.cache_hits += 1
                    return ChatResult(
                        key=key,
                        text=hit["text"],
                        usage=hit.get("usage") or {},
                        model=hit.get("model", self.model),
                        finish_reason=hit.get("finish_reason"),
                        cached=True,
                    )
                async with semaphore:
                    return await self._send(http, key, messages)

            return list(await asyncio.gather(*(one(m) for m in conversations)))

    async def _send(self, http: httpx.AsyncClient, key: str, messages: Messages) -> ChatResult:
        body = {"model": self.model, "messages": messages, **self.params}
        error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.usage.retries += 1
            self.usage.requests += 1
            retry_after: float | None = None
            try:
                response = await http.post(self.url, json=body)
                if response.status_code == 200:
                    result = self._parse(key, response)
                    self._account(result)
                    result.attempts = attempt + 1
                    self.journal.put(
                        {
                            "key": key,
                            "text": result.text,
                            "usage": result.usage,
                            "model": result.model,
                            "finish_reason": result.finish_reason,
                        }
                    )
                    return result
                error = f"http-{response.status_code}: {response.text[:200]}"
                if response.status_code not in RETRY_STATUS:
                    break  # 400/401/404...: resending the same body cannot help
                retry_after = _retry_after(response)
            except httpx.TimeoutException as exc:
                error = f"timeout: {type(exc).__name__}"
            except httpx.TransportError as exc:
                error = f"transport: {type(exc).__name__}: {exc}"
            except ResponseError as exc:
                error = f"bad-response: {exc}"
            if attempt < self.max_retries:
                await asyncio.sleep(self.backoff(attempt, retry_after))
        self.usage.failures += 1
        return ChatResult(key=key, text=None, error=error, model=self.model, attempts=attempt + 1)

    def _parse(self, key: str, response: httpx.Response) -> ChatResult:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ResponseError(f"{type(exc).__name__}: {response.text[:120]!r}") from exc
        if not isinstance(text, str):
            raise ResponseError(f"content is {type(text).__name__}")
        usage = data.get("usage") or {}
        usage = {k: int(v) for k, v in usage.items() if isinstance(v, int | float)}
        return ChatResult(
            key=key,
            text=text,
            usage=usage,
            model=data.get("model") or self.model,
            finish_reason=choice.get("finish_reason"),
        )

    def _account(self, result: ChatResult) -> None:
        self.usage.prompt_tokens += result.usage.get("prompt_tokens", 0)
        self.usage.completion_tokens += result.usage.get("completion_tokens", 0)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
