"""A small client for ``primer serve`` (httpx only; no other primer import, copy it anywhere).

``FilterClient(url, token).filter(docs)`` sends documents in batches of
``batch_size`` and returns one decision per document in order. 503 and 429 are
retried after the server's ``Retry-After`` (else exponential backoff), as are
connection errors; other errors raise ``ServiceError`` with the server's message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

RETRY_STATUS = (429, 503)


class ServiceError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        msg = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {msg}")


class FilterClient:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        batch_size: int = 32,
        retries: int = 8,
        timeout_s: float = 300.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        token = token if token is not None else os.environ.get("PRIMER_TOKEN")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s)
        self.batch_size, self.retries, self.max_backoff_s = batch_size, retries, max_backoff_s
        self.retried = 0  # how many retries this client made (for benchmarks and logs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> FilterClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def post(self, path: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One request (no batching), retried on 503/429 and connection errors."""
        delay = 0.5
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                r = self.http.post(path, json={"documents": documents})
            except httpx.TransportError:
                if last:
                    raise
                self._sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
                continue
            if r.status_code in RETRY_STATUS and not last:
                after = r.headers.get("retry-after")
                self._sleep(float(after) if after and after.isdigit() else delay)
                delay = min(delay * 2, self.max_backoff_s)
                continue
            body = _json(r)
            if r.status_code != 200:
                raise ServiceError(r.status_code, body)
            return body["results"]
        raise AssertionError("unreachable")

    def _sleep(self, seconds: float) -> None:
        self.retried += 1
        time.sleep(min(seconds, self.max_backoff_s))

    def batches(
        self, path: str, documents: Iterable[dict[str, Any]]
    ) -> Iterator[list[dict[str, Any]]]:
        chunk: list[dict[str, Any]] = []
        for doc in documents:
            chunk.append(doc)
            if len(chunk) >= self.batch_size:
                yield self.post(path, chunk)
                chunk = []
        if chunk:
            yield self.post(path, chunk)

    def filter(self, documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Decisions for ``{"id", "text" | "html", "url"?}`` documents, in order.

        Dedup within a request only: documents in different batches are not compared.
        """
        return [r for rs in self.batches("/v1/filter", documents) for r in rs]

    def score(self, documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for rs in self.batches("/v1/score", documents) for r in rs]

    def extract(self, documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for rs in self.batches("/v1/extract", documents) for r in rs]

    def health(self) -> dict[str, Any]:
        return _json(self.http.get("/healthz"))


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text
