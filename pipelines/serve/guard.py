"""Admission in front of every endpoint: auth, body size, bounded in-flight + queue, metrics.

Plain ASGI middleware logic (no Ray): ``app.py`` installs ``guard`` on the FastAPI app
before Ray Serve wraps it. State is per process, i.e. per replica.
"""

import asyncio
import hmac
import os
import time
from typing import Any

from pipelines.config import PipelineConfig

V1 = ("/v1/filter", "/v1/score", "/v1/extract")
OPEN = ("/healthz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect")


def resolve_token(config: PipelineConfig) -> str | None:
    return os.environ.get("PRIMER_TOKEN") or config.serve.token or None


def _error(status: int, message: str, headers: dict | None = None, **extra: Any):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


class ReplicaState:
    """Per-process (= per replica) admission counters and metrics, shared by the
    middleware and the endpoints."""

    def __init__(self, max_concurrent: int, replica: str | None = None) -> None:
        from pipelines.serve.metrics import Metrics

        self.pending = 0
        self.active = asyncio.Semaphore(max_concurrent)
        self.metrics = Metrics(replica or str(os.getpid()))  # the app passes Serve's replica id


_STATE: dict[str, ReplicaState] = {}


def replica_state(sc, replica: str | None = None) -> ReplicaState:
    """This process's state, created on first use (the app's ``Front`` creates it first)."""
    if "s" not in _STATE:
        _STATE["s"] = ReplicaState(sc.max_concurrent, replica)
    return _STATE["s"]


async def guard(sc, request, call_next):
    """Auth, body size, admission (bounded in-flight + queue) and metrics, before any parsing."""
    state = replica_state(sc)
    path = request.url.path
    start = time.perf_counter()
    response = await _guarded(sc, state, request, call_next, path)
    state.metrics.request(
        path if path in V1 else "other", response.status_code, time.perf_counter() - start
    )
    return response


async def _guarded(sc, state: ReplicaState, request, call_next, path: str):
    if sc.token and path not in OPEN:
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth[:7].lower() == "bearer " else ""
        if not hmac.compare_digest(given.encode(), sc.token.encode()):
            return _error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
    if request.method == "POST":
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return _error(411, "Content-Length required", limit="max_body_bytes")
        if int(length) > sc.max_body_bytes:
            return _error(
                413,
                f"body of {length} bytes > max_body_bytes ({sc.max_body_bytes})",
                limit="max_body_bytes",
            )
    if path not in V1:
        return await call_next(request)
    if state.pending >= sc.max_concurrent + sc.max_queued:
        return _error(
            503,
            "overloaded: too many requests in flight, retry later",
            {"Retry-After": str(sc.retry_after_s)},
            limit="max_queued",
        )
    state.pending += 1
    gauge = state.metrics.in_flight.labels(state.metrics.replica)
    gauge.inc()
    request.scope["primer.t0"] = time.monotonic()  # the deadline counts the wait for a slot
    try:
        try:
            await asyncio.wait_for(state.active.acquire(), sc.timeout_s)
        except TimeoutError:
            return _error(
                503,
                f"queued longer than timeout_s ({sc.timeout_s:g} s), retry later",
                {"Retry-After": str(sc.retry_after_s)},
                limit="timeout_s",
            )
        try:
            return await call_next(request)
        finally:
            state.active.release()
    finally:
        state.pending -= 1
        gauge.dec()
