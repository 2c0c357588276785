"""``primer serve`` end to end: a real `primer serve` subprocess on 127.0.0.1 (Ray Serve),
stopped by its process id. Equivalence with ``primer run`` on the demo sample, one test
per limit (bad request -> status, then the next good request is answered), --index
lookups, the client and ``primer filter-remote``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.ray]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-123"
AUTH = {"authorization": f"Bearer {TOKEN}"}
CONFIG = {
    "ray": {"num_cpus": 2, "progress": False},
    # The demo's exact and near duplicates are licence texts, which the boilerplate rule
    # drops first: off here, so both dedup steps are compared with `primer run` too.
    "filters": {"boilerplate": {"enabled": False}},
    "serve": {
        "max_documents": 500,
        "max_body_bytes": 8 * 2**20,
        "max_text_chars": 200_000,  # the demo's longest text is 139,020 characters
        "max_concurrent": 1,
        "max_queued": 0,
        "retry_after_s": 2,
    },
}
GOOD = {"documents": [{"id": "g", "text": "Photosynthesis turns light into sugar in plants."}]}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", RAY_USAGE_STATS_ENABLED="0")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _primer(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


class Service:
    """`primer serve` in its own session; ``stop`` sends SIGTERM to its pid, then SIGKILL
    to its process group (pgid = pid) if it has not exited."""

    def __init__(self, tmp: Path, config: dict, *extra: str, token: str | None = TOKEN):
        self.tmp, self.config, self.extra, self.token = tmp, config, extra, token
        self._start()

    def _start(self) -> None:
        tmp, config, extra, token = self.tmp, self.config, self.extra, self.token
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = tmp / f"serve-{self.port}.yaml"
        cfg.write_text(yaml.safe_dump(config))
        env = _env()
        env.pop("PRIMER_TOKEN", None)
        if token:
            env["PRIMER_TOKEN"] = token
        self.log = (tmp / f"serve-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            _primer("serve", "--config", str(cfg), "--port", str(self.port), *extra),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=self.url, timeout=600)

    def wait(self, timeout: float = 900, restarts: int = 5) -> Service:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = Path(self.log.name).read_text()
                if restarts and "timed out during startup" in log:  # busy machine: Ray's 30 s
                    restarts -= 1
                    self.log.close()
                    self._start()
                    continue
                raise RuntimeError(
                    f"primer serve exited with {self.proc.returncode}: {log[-2000:]}"
                )
            try:
                if self.http.get("/healthz", timeout=5).status_code == 200:
                    # the edu deployment may still be loading: one scored request proves it
                    r = self.http.post("/v1/score", json=GOOD, headers=AUTH, timeout=300)
                    if r.status_code == 200:
                        return self
            except httpx.HTTPError:
                pass
            time.sleep(2)
        raise TimeoutError(f"primer serve on {self.url} not ready after {timeout} s")

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        self.log.close()

    def post(self, path: str, body: dict, **kw) -> httpx.Response:
        return self.http.post(path, json=body, headers=kw.pop("headers", AUTH), **kw)

    def good(self) -> None:
        r = self.post("/v1/filter", GOOD)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["id"] == "g"


def _demo_docs() -> list[dict]:
    """The demo sample as `primer run` reads it, in its ledger order (source_file, position)."""
    from corpus.readers.base import Record
    from corpus.readers.inputs import read_path
    from pipelines.demo import sample_paths

    docs = []
    for path in sorted(sample_paths(), key=str):
        for rec in read_path(path):
            if isinstance(rec, Record):
                docs.append({"id": rec.id, "text": rec.text, "url": rec.url})
    return docs


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """`primer run` on the demo sample with the service's config (subprocess, own Ray)."""
    from pipelines.demo import sample_paths

    tmp = tmp_path_factory.mktemp("demo")
    cfg = tmp / "run.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    args = ["run", "--config", str(cfg), "--output", str(tmp / "out")]
    for p in sample_paths():
        args += ["--input", str(p)]
    for _ in range(6):  # Ray gives a node 30 s to start: a busy machine can miss it
        p = subprocess.run(_primer(*args), cwd=ROOT, env=_env(), capture_output=True, text=True)
        if p.returncode == 0 or "timed out during startup" not in p.stderr:
            break
    assert p.returncode == 0, f"primer run failed: {p.stderr[-3000:]}"
    return tmp / "out"


@pytest.fixture(scope="class")
def service(tmp_path_factory):
    s = Service(tmp_path_factory.mktemp("serve"), CONFIG)
    try:
        yield s.wait()
    finally:
        s.stop()


def _ledger(out: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class TestService:
    def test_same_decisions_as_primer_run(self, service, demo_run):
        expected = _ledger(
            demo_run,
            "SELECT id, kept, drop_stage, drop_reason, duplicate_of FROM documents "
            "ORDER BY source_file, position",
        )
        docs = _demo_docs()
        assert [d["id"] for d in docs] == [e[0] for e in expected]
        r = service.post("/v1/filter", {"documents": docs})
        assert r.status_code == 200, r.text[:500]
        got = [
            (x["id"], x["kept"], x["drop_stage"], x["drop_reason"], x.get("duplicate_of"))
            for x in r.json()["results"]
        ]
        diff = [(g, e) for g, e in zip(got, expected, strict=True) if g != e]
        assert not diff, f"{len(diff)} of {len(got)} decisions differ, e.g. {diff[:3]}"
        stages = {e[2] for e in expected}
        # the sample exercises every step, so equality is not trivially about one of them
        assert {"langid", "quality", "exact-dedup", "near-dedup", "classify", None} <= stages

    def test_metrics_count_decisions(self, service):
        text = service.http.get("/metrics", headers=AUTH).text
        assert "primer_decisions_total{replica=" in text
        assert 'stage="near-dedup"' in text
        assert "primer_request_seconds_bucket" in text

    def test_extract_is_the_readers_extraction(self, service):
        from corpus.extract import extract_main_text

        html = (
            "<html><head><title>t</title></head><body><nav>Home | About | Cookies</nav>"
            "<article><h1>Fractions</h1><p>A fraction names a part of a whole. The bottom "
            "number says how many equal parts the whole has.</p></article>"
            "<footer>(c) 2024</footer></body></html>"
        )
        r = service.post("/v1/extract", {"documents": [{"id": "h", "html": html}]})
        assert r.status_code == 200
        assert r.json()["results"][0]["text"] == extract_main_text(html)

    def test_too_many_documents_413(self, service):
        body = {"documents": [{"id": str(i), "text": "x"} for i in range(501)]}
        r = service.post("/v1/filter", body)
        assert r.status_code == 413
        assert r.json()["limit"] == "max_documents"
        service.good()

    def test_body_too_large_413(self, service):
        body = {"documents": [{"id": "big", "text": "word " * (2 * 2**20)}]}  # 10 MB
        r = service.post("/v1/filter", body)
        assert r.status_code == 413
        assert r.json()["limit"] == "max_body_bytes"
        service.good()

    def test_text_too_long_is_a_per_document_error(self, service):
        docs = [{"id": "long", "text": "a" * 200_001}, GOOD["documents"][0]]
        r = service.post("/v1/filter", {"documents": docs})
        assert r.status_code == 200
        long, good = r.json()["results"]
        assert "max_text_chars" in long["error"] and long["kept"] is None
        assert good["id"] == "g" and good["error"] is None and good["kept"] in (True, False)
        service.good()

    @pytest.mark.parametrize(
        "raw, field",
        [
            (b'{"documents": [', "body"),
            (
                b'{"documents": [{"id": "a", "text": "x"}, {"id": 7, "text": "y"}]}',
                "documents.1.id",
            ),
            (b'{"documents": [{"id": "a"}]}', "documents.0"),
            (b'{"docs": []}', "documents"),
        ],
    )
    def test_invalid_json_or_schema_422_names_the_field(self, service, raw, field):
        r = service.http.post(
            "/v1/filter", content=raw, headers={**AUTH, "content-type": "application/json"}
        )
        assert r.status_code == 422
        assert r.json()["field"] == field, r.json()
        service.good()

    def test_missing_or_wrong_token_401(self, service):
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}):
            r = service.post("/v1/filter", GOOD, headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
        assert service.http.get("/healthz").status_code == 200  # open, for probes
        assert service.http.get("/metrics").status_code == 401
        service.good()

    def test_timeout_504(self, service):
        # 32 real documents: surely more than 1 ms of work, whatever the machine
        batch = {"documents": [{**d, "id": f"t{i}"} for i, d in enumerate(_demo_docs()[:32])]}
        r = service.post("/v1/filter", batch, params={"timeout_s": "0.001"})
        assert r.status_code == 504, r.text[:300]
        assert r.json()["limit"] == "timeout_s"
        deadline = time.monotonic() + 120  # the abandoned work may still hold the replica
        while time.monotonic() < deadline:
            r = service.post("/v1/filter", GOOD)
            if r.status_code == 200:
                return
            time.sleep(1)
        pytest.fail(f"no good answer after a timeout: {r.status_code} {r.text}")

    def test_overload_503_with_retry_after(self, service):
        slow = {"documents": [{**d, "id": f"s{i}"} for i, d in enumerate(_demo_docs()[79:379])]}
        answer: dict = {}
        t = threading.Thread(target=lambda: answer.update(r=service.post("/v1/filter", slow)))
        t.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the slow request holds the one slot
            m = service.http.get("/metrics", headers=AUTH).text
            if any(
                line.startswith("primer_requests_in_flight") and line.endswith(" 1.0")
                for line in m.splitlines()
            ):
                break
            time.sleep(0.05)
        r = service.post("/v1/filter", GOOD)
        t.join(600)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "2"
        assert answer["r"].status_code == 200
        service.good()

    def test_client_retries_and_filter_remote(self, service, tmp_path):
        from pipelines.serve.client import FilterClient

        docs = _demo_docs()[79:100]
        with FilterClient(service.url, token=TOKEN, batch_size=8) as client:
            results = client.filter(docs)
        assert [r["id"] for r in results] == [d["id"] for d in docs]
        src = tmp_path / "in.jsonl"
        src.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs))
        out = tmp_path / "decisions.jsonl"
        env = {**_env(), "PRIMER_TOKEN": TOKEN}
        p = subprocess.run(
            _primer(
                "filter-remote",
                str(src),
                "--url",
                service.url,
                "--output",
                str(out),
                "--batch-size",
                "8",
            ),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert p.returncode == 0, p.stderr
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [(r["id"], r["kept"]) for r in rows] == [(r["id"], r["kept"]) for r in results]


def _digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if p.is_file():
            h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


class TestIndex:
    def test_duplicates_of_an_earlier_run_read_only(self, demo_run, tmp_path_factory):
        before = _digest(demo_run)
        by_id = {d["id"]: d for d in _demo_docs()}
        kept = [
            k
            for k in _ledger(
                demo_run, "SELECT id FROM documents WHERE kept ORDER BY source_file, position"
            )
            if len(by_id[k[0]]["text"]) > 3000  # long: one added line keeps it near
        ][:6]
        assert len(kept) == 6
        exact = [by_id[k[0]] for k in kept[:3]]
        near = [
            {"id": f"n-{d['id']}", "text": d["text"] + "\nThanks for reading this page."}
            for d in (by_id[k[0]] for k in kept[3:6])
        ]
        s = Service(tmp_path_factory.mktemp("serve-index"), CONFIG, "--index", str(demo_run))
        try:
            s.wait()
            health = s.http.get("/healthz").json()
            assert health["index"]["near_index"] == "persisted"
            r = s.post("/v1/filter", {"documents": exact + near})
            assert r.status_code == 200, r.text
            res = r.json()["results"]
            for d, x in zip(exact, res[:3], strict=True):
                assert (x["drop_stage"], x["duplicate_of"]) == ("exact-dedup", d["id"])
            for k, x in zip(kept[3:6], res[3:], strict=True):
                assert (x["drop_stage"], x["duplicate_of"]) == ("near-dedup", k[0])
            s.good()
        finally:
            s.stop()
        assert _digest(demo_run) == before  # nothing under OUT changed
