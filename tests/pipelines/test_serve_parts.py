"""The service's parts without Ray: decisions within one request, the client's retries."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.config import PipelineConfig
from pipelines.serve.client import FilterClient, ServiceError
from pipelines.serve.decide import Decider, results
from tests.pipelines.conftest import TOPICS, _doc


@pytest.fixture(scope="module")
def decider():
    return Decider(PipelineConfig())


def test_duplicates_within_a_request_are_marked_like_primer_run(decider):
    docs = [{"id": f"a{i}", "text": _doc(i, t)} for i, t in enumerate(TOPICS[:4])]
    docs.append({"id": "dup", "text": "  " + _doc(0, TOPICS[0]).replace(". ", ".   ")})
    docs.append({"id": "near", "text": _doc(2, TOPICS[2]) + " Good luck with the homework!"})
    docs.append({"id": "short", "text": "Click here."})
    html = f"<html><body><nav>Home</nav><article><p>{_doc(7, 'maps')}</p></article></body></html>"
    docs.append({"id": "html", "html": html})
    got = {r["id"]: r for r in results(decider.decide(docs))}
    assert [got[f"a{i}"]["kept"] for i in range(4)] == [True] * 4
    assert (got["dup"]["drop_stage"], got["dup"]["duplicate_of"]) == ("exact-dedup", "a0")
    assert (got["near"]["drop_stage"], got["near"]["duplicate_of"]) == ("near-dedup", "a2")
    assert got["short"]["drop_stage"] == "quality"
    assert got["html"]["kept"] and got["html"]["n_tokens"] > 100
    # the same documents one per request: nothing to be a duplicate of
    alone = results(decider.decide([docs[4]]))[0]
    assert alone["kept"] and alone["duplicate_of"] is None


def test_first_in_request_order_survives(decider):
    a, b = _doc(3, TOPICS[3]), _doc(3, TOPICS[3]) + " One more line at the end."
    got = results(decider.decide([{"id": "x", "text": b}, {"id": "y", "text": a}]))
    assert got[0]["kept"] and got[1]["duplicate_of"] == "x"


def test_edu_rows_follow_classify_enabled(decider):
    batch = decider.decide([{"id": "a", "text": _doc(1, TOPICS[1])}])
    assert decider.edu_rows(batch) == [0]
    off = Decider(PipelineConfig.model_validate({"classify": {"enabled": False}}))
    assert off.edu_rows(off.decide([{"id": "a", "text": _doc(1, TOPICS[1])}])) == []


class _Flaky(BaseHTTPRequestHandler):
    """503 with Retry-After, then 429 without, then the answer; counts calls."""

    calls: list[float] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        import time

        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        _Flaky.calls.append(time.monotonic())
        n = len(_Flaky.calls)
        if n == 1:
            self._send(503, {"error": "busy"}, {"Retry-After": "1"})
        elif n == 2:
            self._send(429, {"error": "slow down"}, {})
        elif body["documents"][0]["id"] == "bad":
            self._send(413, {"error": "too big", "limit": "max_documents"}, {})
        else:
            self._send(
                200, {"results": [{"id": d["id"], "kept": True} for d in body["documents"]]}, {}
            )

    def _send(self, status, obj, headers):
        data = json.dumps(obj).encode()
        self.send_response(status)
        for k, v in {"content-type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_client_retries_503_and_429_honouring_retry_after_then_raises_on_errors():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with FilterClient(url, batch_size=2) as client:
            client.max_backoff_s = 1.5
            docs = [{"id": str(i), "text": "t"} for i in range(5)]
            assert [r["id"] for r in client.filter(docs)] == [str(i) for i in range(5)]
            assert client.retried == 2
            assert _Flaky.calls[1] - _Flaky.calls[0] >= 1.0  # waited Retry-After: 1
            assert _Flaky.calls[2] - _Flaky.calls[1] >= 0.5  # 429 without it: backoff
            assert len(_Flaky.calls) == 2 + 3  # 3 batches of <= 2
            with pytest.raises(ServiceError, match="HTTP 413: too big"):
                client.filter([{"id": "bad", "text": "t"}])
    finally:
        server.shutdown()


def test_index_without_persisted_bands_is_built_from_the_corpus(tmp_path):
    """A run that persisted no MinHash bands (e.g. dedup disabled): bands come from its corpus;
    exact hashes from its ledger; the run's files are only read."""
    from corpus import ledger
    from corpus.filters.exact import exact_hash
    from corpus.writer import ShardedWriter
    from pipelines.serve.index import load_index

    texts = {f"k{i}": _doc(i, t) for i, t in enumerate(TOPICS[:3])}
    with ShardedWriter(tmp_path / "corpus", 100, 2**20) as w:
        for i, t in texts.items():
            w.write({"id": i, "text": t, "metadata": {}})
    con = ledger.connect(tmp_path / "corpus.duckdb")
    run_cfg = PipelineConfig.model_validate({"dedup": {"enabled": False}}).model_dump(mode="json")
    ledger.start_run(con, "r1", "primer run", run_cfg, {})
    ledger.finish_run(con, "r1", "ok", {})
    con.execute(
        "CREATE TABLE documents (uid VARCHAR, id VARCHAR, text_hash BIGINT, kept BOOLEAN, "
        "source_file VARCHAR, position BIGINT)"
    )
    for pos, (i, t) in enumerate(texts.items()):
        con.execute(
            "INSERT INTO documents VALUES (?, ?, ?, true, 'f', ?)", [i, i, exact_hash(t), pos]
        )
    con.execute("INSERT INTO documents VALUES ('gone', 'gone', 1, false, 'f', 9)")
    con.close()
    index = load_index(tmp_path, PipelineConfig().dedup)
    assert index.built_from == "corpus" and index.n_kept == 3
    with pytest.raises(ValueError, match=r"dedup\.bands=14"):
        load_index(tmp_path, PipelineConfig.model_validate({"dedup": {"bands": 7}}).dedup)
    d = Decider(PipelineConfig(), index)
    got = results(
        d.decide(
            [
                {"id": "e", "text": texts["k0"]},
                {"id": "n", "text": texts["k1"] + " And one more closing sentence here."},
                {"id": "new", "text": _doc(50, TOPICS[5])},
            ]
        )
    )
    assert [(r["drop_stage"], r["duplicate_of"]) for r in got] == [
        ("exact-dedup", "k0"),
        ("near-dedup", "k1"),
        (None, None),
    ]


def test_index_reads_the_bands_a_run_persisted(tmp_path):
    """The ``minhash/bands-*.parquet`` layout ``primer run`` writes, restricted to kept docs."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus import ledger
    from corpus.dedup.candidates import doc_bands
    from corpus.filters.exact import exact_hash
    from pipelines.serve.index import load_index

    cfg = PipelineConfig()
    texts = {f"k{i}": _doc(i, t) for i, t in enumerate(TOPICS[:3])}
    con = ledger.connect(tmp_path / "corpus.duckdb")
    ledger.start_run(con, "r1", "primer run", cfg.model_dump(mode="json"), {})
    ledger.finish_run(con, "r1", "ok", {})
    con.execute(
        "CREATE TABLE documents (uid VARCHAR, id VARCHAR, text_hash BIGINT, kept BOOLEAN, "
        "source_file VARCHAR, position BIGINT)"
    )
    for pos, (i, t) in enumerate(texts.items()):  # k2 was dropped later (e.g. low-edu)
        con.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, 'f', ?)",
            [i, i, exact_hash(t), i != "k2", pos],
        )
    con.close()
    t = pa.table(
        {
            "uid": list(texts),
            "id": list(texts),
            "source_file": ["f"] * 3,
            "position": [0, 1, 2],
            "text": list(texts.values()),
        }
    )
    docs = doc_bands(t, cfg.dedup)
    n, nb = docs.num_rows, cfg.dedup.bands
    idx = pa.array(np.repeat(np.arange(n), nb))
    bands = pa.table(
        {
            "uid": docs.column("uid").take(idx),
            "id": docs.column("id").take(idx),
            "band": pa.array(np.tile(np.arange(nb, dtype=np.int16), n)),
            "hash": docs.column("bands").combine_chunks().flatten(),
        }
    )
    (tmp_path / "work" / "near" / "minhash").mkdir(parents=True)
    pq.write_table(bands, tmp_path / "work" / "near" / "minhash" / "bands-00000.parquet")
    index = load_index(tmp_path, cfg.dedup)
    assert index.built_from == "persisted" and index.n_kept == 2
    got = results(
        Decider(cfg, index).decide(
            [
                {"id": "n1", "text": texts["k1"] + " And one more closing sentence here."},
                {"id": "n2", "text": texts["k2"] + " And one more closing sentence here."},
            ]
        )
    )
    assert [(r["drop_stage"], r["duplicate_of"]) for r in got] == [
        ("near-dedup", "k1"),
        (None, None),
    ]


def test_guard_bounds_the_queue_and_counts_queue_time_in_the_deadline():
    """The service's admission middleware on a bare ASGI app (no Ray): one slot, no queue."""
    import asyncio
    import concurrent.futures
    import time

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from pipelines.serve import app as serve_app
    from pipelines.serve.config import ServeConfig

    sc = ServeConfig(max_concurrent=1, max_queued=1, timeout_s=0.5, retry_after_s=3, token="t")
    serve_app._STATE.clear()
    api = FastAPI()

    @api.middleware("http")
    async def _guard(request, call_next):
        return await serve_app.guard(sc, request, call_next)

    @api.post("/v1/filter")
    async def slow():
        await asyncio.sleep(1.0)
        return {"results": []}

    with TestClient(api) as client:
        auth = {"authorization": "Bearer t"}
        assert client.post("/v1/filter", json={}).status_code == 401
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            first = pool.submit(client.post, "/v1/filter", json={}, headers=auth)
            time.sleep(0.2)
            queued = pool.submit(client.post, "/v1/filter", json={}, headers=auth)
            time.sleep(0.1)
            refused = client.post("/v1/filter", json={}, headers=auth)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
            assert first.result().status_code == 200
            late = queued.result()  # waited for the slot longer than timeout_s
            assert late.status_code == 503 and late.json()["limit"] == "timeout_s"
        assert client.post("/v1/filter", json={}, headers=auth).status_code == 200
    serve_app._STATE.clear()
