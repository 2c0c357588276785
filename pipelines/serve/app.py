"""The service on Ray Serve: the only module that speaks Ray Serve's API.

Two deployments:

* ``Front`` (FastAPI ingress, CPU): limits, auth, metrics, HTML extraction and
  ``Decider`` (filters, decontamination, tokens, exact and near dedup within the
  request and against ``--index``). Its CPU work runs on one worker thread per
  replica (the stages are not shared across threads); replicas scale out.
* ``EduScorer``: ``EduStage`` (the pipeline's classifier stage) behind
  ``@serve.batch``, so texts of concurrent requests share model calls; scaled
  on its own, on GPUs when the cluster has them.

Admission (``guard.py``, before Serve wraps the app) answers early with a JSON body naming the limit: 413 (``max_body_bytes``,
``max_documents``), 422 (the offending field), 401 (bearer token), 503 with
``Retry-After`` (more than ``max_concurrent + max_queued`` requests on a
replica; Ray Serve's own ``max_queued_requests`` bounds what waits in front of
the replicas), 504 (``timeout_s``, or a client's lower ``?timeout_s=``).
"""

import asyncio
import logging
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pipelines.config import PipelineConfig
from pipelines.serve.guard import _STATE, _error, guard, replica_state, resolve_token

__all__ = ["_STATE", "build_app", "guard", "replica_state", "serve_forever"]

log = logging.getLogger("primer.serve")


def _replica_id() -> str | None:
    try:
        from ray import serve

        return serve.get_replica_context().replica_id.unique_id
    except Exception:  # outside a replica (tests of the app alone)
        return None


def build_app(config: PipelineConfig, index: str | None = None, edu_gpus: float = 0.0):
    """The Ray Serve application (``Front`` bound to ``EduScorer``)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import PlainTextResponse
    from ray import serve

    from pipelines.serve import schema

    sc = config.serve
    cfg_json = config.model_dump_json()
    app = FastAPI(
        title="primer filter service",
        description="`primer run`'s per-document decisions over HTTP.",
        version="1",
    )

    # Before @serve.ingress, which captures the app as it is then.
    @app.middleware("http")
    async def _guard(request: Request, call_next):
        return await guard(sc, request, call_next)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        if first.get("type") == "json_invalid":
            return _error(422, f"invalid JSON: {first.get('msg')}", field="body")
        field = ".".join(loc) or "body"
        return _error(422, f"{field}: {first.get('msg')}", field=field)

    @serve.deployment(
        name="EduScorer",
        autoscaling_config=sc.edu.autoscaling(),
        max_ongoing_requests=sc.edu.max_ongoing_requests,
        ray_actor_options={"num_cpus": sc.edu.num_cpus, "num_gpus": edu_gpus},
    )
    class EduScorer:
        def __init__(self, config_json: str) -> None:
            from classifiers.stage import EduStage

            self.stage = EduStage(PipelineConfig.model_validate_json(config_json).classify)
            self.stage.setup()

        @serve.batch(
            max_batch_size=sc.edu.max_batch_size,
            batch_wait_timeout_s=sc.edu.batch_wait_timeout_s,
            batch_size_fn=lambda items: sum(len(x) for x in items),
        )
        async def score(self, requests: list[list[str]]) -> list[dict[str, list]]:
            flat = [t for texts in requests for t in texts]
            out = await asyncio.to_thread(self.stage.process, {"text": flat})
            answers, k = [], 0
            for texts in requests:
                cols = ("edu_score", "edu_int", "drop_reason")
                answers.append({c: out[c][k : k + len(texts)] for c in cols})
                k += len(texts)
            return answers

    @serve.deployment(
        name="Front",
        autoscaling_config=sc.front.autoscaling(),
        max_ongoing_requests=max(
            sc.front.max_ongoing_requests, sc.max_concurrent + sc.max_queued + 4
        ),
        max_queued_requests=max(1, sc.max_queued),
        ray_actor_options={"num_cpus": sc.front.num_cpus},
    )
    @serve.ingress(app)
    class Front:
        def __init__(self, config_json: str, index_path: str | None, edu) -> None:
            from pipelines.serve.decide import Decider
            from pipelines.serve.index import load_index

            logging.basicConfig(level=logging.INFO)
            self.config = PipelineConfig.model_validate_json(config_json)
            self.sc = self.config.serve
            self.token = self.sc.token
            self.index = load_index(index_path, self.config.dedup) if index_path else None
            if self.index is not None and self.index.built_from == "corpus":
                log.warning(
                    "%s has no persisted MinHash index: near-dup bands computed from its corpus",
                    index_path,
                )
            self.decider = Decider(self.config, self.index)
            self.edu = edu
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="decide")
            self.metrics = replica_state(self.sc, _replica_id()).metrics

        def _deadline(self, request: Request) -> float:
            t0 = request.scope.get("primer.t0", time.monotonic())
            left = max(0.001, self.sc.timeout_s - (time.monotonic() - t0))
            asked = request.query_params.get("timeout_s")
            try:
                return min(left, float(asked)) if asked else left
            except ValueError:
                return left

        def _too_many(self, n: int):
            if n > self.sc.max_documents:
                return _error(
                    413,
                    f"{n} documents > max_documents ({self.sc.max_documents})",
                    limit="max_documents",
                )
            return None

        async def _timed(self, request: Request, coro):
            deadline = self._deadline(request)
            try:
                return await asyncio.wait_for(coro, deadline)
            except TimeoutError:
                return _error(504, f"not answered within {deadline:g} s", limit="timeout_s")

        async def _cpu(self, fn, *args):
            return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

        async def _scores(self, texts: list[str]) -> dict[str, list]:
            step = self.sc.edu.max_batch_size
            parts = await asyncio.gather(
                *(self.edu.score.remote(texts[i : i + step]) for i in range(0, len(texts), step))
            )
            return {
                c: [v for p in parts for v in p[c]] for c in ("edu_score", "edu_int", "drop_reason")
            }

        def _long(self, text: str | None) -> str | None:
            if text is not None and len(text) > self.sc.max_text_chars:
                return f"{len(text)} characters > max_text_chars ({self.sc.max_text_chars})"
            return None

        # --- endpoints -------------------------------------------------------------------
        @app.post("/v1/filter", response_model=schema.FilterResponse)
        async def filter(self, body: schema.FilterRequest, request: Request):
            """`primer run`'s decision for each document, in request order."""
            if (r := self._too_many(len(body.documents))) is not None:
                return r
            return await self._timed(request, self._filter(body))

        async def _filter(self, body: schema.FilterRequest):
            from pipelines.serve.decide import results

            docs = [d.model_dump() for d in body.documents]
            self.metrics.docs("/v1/filter", len(docs))
            errors = [self._long(d["text"] if d["text"] is not None else d["html"]) for d in docs]
            ok = [d for d, e in zip(docs, errors, strict=True) if e is None]
            decided: list[dict] = []
            if ok:
                batch = await self._cpu(self.decider.decide, ok)
                rows = self.decider.edu_rows(batch)
                if rows:
                    scored = await self._scores([batch["text"][i] for i in rows])
                    self.decider.apply_edu(batch, rows, scored)
                decided = results(batch)
            it = iter(decided)
            out = []
            for d, e in zip(docs, errors, strict=True):
                r = {"id": d["id"], "error": e} if e else next(it)
                self.metrics.decision("error" if e else (r["drop_stage"] or "kept"))
                out.append(r)
            return {"results": out}

        @app.post(
            "/v1/score", response_model=schema.ScoreResponse, response_model_exclude_none=True
        )
        async def score(self, body: schema.ScoreRequest, request: Request):
            """The edu classifier's score of each text as given (no filters): the cheapest call."""
            if (r := self._too_many(len(body.documents))) is not None:
                return r
            return await self._timed(request, self._score(body))

        async def _score(self, body: schema.ScoreRequest):
            docs = body.documents
            self.metrics.docs("/v1/score", len(docs))
            errors = [self._long(d.text) for d in docs]
            texts = [d.text for d, e in zip(docs, errors, strict=True) if e is None]
            scored = await self._scores(texts) if texts else {"edu_score": [], "edu_int": []}
            min_edu = self.config.classify.min_edu_score
            it = iter(zip(scored["edu_score"], scored["edu_int"], strict=True))
            out = []
            for d, e in zip(docs, errors, strict=True):
                if e:
                    out.append({"id": d.id, "error": e})
                    continue
                s, k = next(it)
                out.append(
                    {"id": d.id, "edu_score": s, "edu_int": k, "above_threshold": s >= min_edu}
                )
            return {"results": out}

        @app.post(
            "/v1/extract", response_model=schema.ExtractResponse, response_model_exclude_none=True
        )
        async def extract(self, body: schema.ExtractRequest, request: Request):
            """HTML -> main text, with the extractor `primer run` uses (`reader.extractor`)."""
            if (r := self._too_many(len(body.documents))) is not None:
                return r
            return await self._timed(request, self._extract(body))

        async def _extract(self, body: schema.ExtractRequest):
            docs = body.documents
            self.metrics.docs("/v1/extract", len(docs))

            def run() -> list[dict]:
                out = []
                for d in docs:
                    e = self._long(d.html)
                    out.append(
                        {"id": d.id, "error": e}
                        if e
                        else {"id": d.id, "text": self.decider.extract(d.html, d.url)}
                    )
                return out

            return {"results": await self._cpu(run)}

        @app.get("/healthz")
        async def healthz(self) -> dict:
            idx = self.index
            return {
                "status": "ok",
                "index": None
                if idx is None
                else {
                    "out": idx.out,
                    "kept_documents": idx.n_kept,
                    "near_index": idx.built_from,
                },
                "limits": {
                    k: getattr(self.sc, k)
                    for k in (
                        "max_body_bytes",
                        "max_documents",
                        "max_text_chars",
                        "timeout_s",
                        "max_concurrent",
                        "max_queued",
                    )
                },
                "auth": bool(self.token),
            }

        @app.get("/metrics", response_class=PlainTextResponse)
        async def metrics(self):
            return PlainTextResponse(self.metrics.text(), media_type="text/plain; version=0.0.4")

    edu = EduScorer.bind(cfg_json)
    return Front.bind(cfg_json, index, edu)


def serve_forever(config: PipelineConfig, index: str | None, ready=print) -> None:
    """Start Ray (local, or RAY_ADDRESS) and Serve, deploy, block until SIGTERM/SIGINT."""
    from ray import serve

    from pipelines import ray_backend as rb

    sc = config.serve
    config = config.model_copy(
        update={"serve": sc.model_copy(update={"token": resolve_token(config)})}
    )
    rb.init(config.ray.address, config.ray.num_cpus, progress=False)
    gpus = config.serve.edu.num_gpus
    if gpus is None:
        gpus = 1.0 if rb.cluster_gpus() > 0 else 0.0
    serve.start(
        http_options={"host": sc.host, "port": sc.port, "request_timeout_s": sc.timeout_s + 10}
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.run(build_app(config, index, gpus), name="primer", route_prefix="/", blocking=False)
        ready(f"[primer] serving on http://{sc.host}:{sc.port} (docs: /docs); Ctrl-C stops")
        while not stop.wait(0.5):
            pass
    finally:
        serve.shutdown()
        rb.shutdown()
