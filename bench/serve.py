"""``primer serve`` under load vs ``primer run --until classify`` on the same documents.

Input: the real web documents of ``../shared/data/web`` (C4 + CC samples, 1,247 docs).

Measured in one run, on this machine, loopback only:

* ``primer run --until classify`` (subprocess, local Ray, all cores) on those documents
  written as one JSONL shard: documents/s over its wall time (Ray start included).
* ``primer serve`` (subprocess, default ``serve:`` settings) and a bounded load generator
  (threads, one keep-alive connection each; a fixed number of requests and a duration
  cap per cell, stops by itself): concurrency 1 / 8 / 64 x batches of 1 and 32 documents
  drawn in turn from the pool. Per cell: documents/s answered, p50/p95/p99 latency of
  answered requests, errors (non-200: 503 is the bounded queue refusing work by design).
  No client retries, so refusals are counted, not hidden.
* Server RSS (the serve process and every Ray process under it) after the first warm
  requests and after a soak (``--soak-s``, default 300 s) at concurrency 8, batch 32.

Rerun: ``python -m bench serve [--soak-s 300] [--port 0]``; results in
``bench/results/serve.json``.

Measured once (``--soak-s 180 --cell-s 30``), 2 cores shared with other jobs at a load
average of 45-87 (so absolute numbers are low and noisy; the ratio is from the same run):

    conc  batch  requests  docs/s  p50 ms   p95 ms   p99 ms   errors
       1      1        24    2.24     330    1,076    1,908   0
       1     32         8   11.13   2,811    3,498    3,498   0
       8      1        24    3.91   1,431    2,171    2,478   0
       8     32        16    8.45  28,495   31,346   31,346   0
      64      1       192    3.10   7,835    9,872   10,201   124 x 503
      64     32       128    7.99  83,616  126,103  129,511   90 x 503, 2 x 408

    primer run --until classify, same 1,247 documents: 885 s wall, 1.41 docs/s
    (Ray start, ingest, dedup, classify, write, ledger); best serve cell / run: 7.9x
    server RSS (serve process + all its Ray processes): 3,158 MB after warm-up,
    3,264 MB after a 180 s soak at conc 8 x batch 32 (+3.4%; 1,792 docs, 0 errors);
    Front replica 366 -> 386 MB, EduScorer replica 1,346 -> 1,411 MB.

At concurrency 64 the bounded queue refuses work (503 + Retry-After, by design: 4 running
+ 32 queued per front replica); the 2 x 408 are Ray Serve's proxy timeout
(``timeout_s`` + 10 s) for requests that waited that long for a slot; measured before
a slot wait was bounded by ``timeout_s`` (now a 503 + Retry-After).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from bench._rss import tree_rss

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data" / "web"
RESULTS = Path(__file__).parent / "results"
CELLS = [(c, b) for c in (1, 8, 64) for b in (1, 32)]


def _docs() -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from corpus.readers.base import Record
    from corpus.readers.inputs import read_path

    docs = []
    for path in sorted(SHARED.glob("*.jsonl.gz")):
        for rec in read_path(path):
            if isinstance(rec, Record):
                docs.append({"id": f"{path.name}:{rec.id}", "text": rec.text, "url": rec.url})
    return docs


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }


def _replica_rss(proc: psutil.Process) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(psutil.Error):
        for p in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                title = " ".join(p.cmdline())
                for name in ("Front", "EduScorer"):
                    if f"ServeReplica:primer:{name}" in title:
                        out[name] = out.get(name, 0) + p.memory_info().rss
    return out


def run_baseline(docs: list[dict], tmp: Path) -> dict:
    src = tmp / "docs.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    cmd = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        "--input",
        str(src),
        "--output",
        str(tmp / "run-out"),
        "--until",
        "classify",
        "--set",
        "ray.progress=false",
    ]
    for _ in range(3):  # Ray gives a node 30 s to start: a busy machine can miss it
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode == 0 or "timed out during startup" not in p.stderr:
            break
    if p.returncode:
        raise RuntimeError(f"primer run failed: {p.stderr[-2000:]}")
    return {
        "documents": len(docs),
        "wall_s": round(wall, 2),
        "docs_per_s": round(len(docs) / wall, 2),
    }


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1)


def load(url: str, docs: list[dict], conc: int, batch: int, n_requests: int, max_s: float) -> dict:
    """``n_requests`` requests by ``conc`` threads, none started after ``max_s``."""
    lock = threading.Lock()
    issued = [0]
    lat: list[float] = []
    statuses: dict[str, int] = {}
    answered = [0]
    t0 = time.perf_counter()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            while True:
                with lock:
                    k = issued[0]
                    if k >= n_requests or time.perf_counter() - t0 > max_s:
                        return
                    issued[0] += 1
                body = {
                    "documents": [
                        {**docs[(k * batch + j) % len(docs)], "id": f"{k}-{j}"}
                        for j in range(batch)
                    ]
                }
                s = time.perf_counter()
                try:
                    r = http.post("/v1/filter", json=body)
                    code = str(r.status_code)
                except httpx.HTTPError as e:
                    code = type(e).__name__
                dt = time.perf_counter() - s
                with lock:
                    statuses[code] = statuses.get(code, 0) + 1
                    if code == "200":
                        lat.append(dt)
                        answered[0] += batch

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "concurrency": conc,
        "batch": batch,
        "requests": sum(statuses.values()),
        "docs_answered": answered[0],
        "wall_s": round(wall, 2),
        "docs_per_s": round(answered[0] / wall, 2),
        "p50_ms": _pct(lat, 0.50),
        "p95_ms": _pct(lat, 0.95),
        "p99_ms": _pct(lat, 0.99),
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "statuses": statuses,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench serve")
    ap.add_argument("--soak-s", type=float, default=300.0)
    ap.add_argument("--cell-s", type=float, default=40.0, help="duration cap per load cell")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} absent")
        return
    docs = _docs()
    print(f"{len(docs)} documents from {SHARED.resolve()}", flush=True)
    result: dict = {
        "documents": len(docs),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        result["primer_run_until_classify"] = run_baseline(docs, tmp)
        print("primer run --until classify:", result["primer_run_until_classify"], flush=True)
        port = args.port or _free_port()
        url = f"http://127.0.0.1:{port}"
        log = (tmp / "serve.log").open("w")
        t0 = time.perf_counter()
        for attempt in range(3):
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port)],
                cwd=ROOT,
                env=_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                _wait(url, proc)
                break
            except (RuntimeError, TimeoutError):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: pgid = pid
                proc.wait()
                if attempt == 2:
                    raise
        ps = psutil.Process(proc.pid)
        try:
            result["startup_s"] = round(time.perf_counter() - t0, 1)
            load(url, docs, 8, 32, 16, 60)  # warm-up: models loaded, pools filled
            result["rss_start_mb"] = round(tree_rss(ps) / 2**20, 1)
            result["replica_rss_start_mb"] = {
                k: round(v / 2**20, 1) for k, v in _replica_rss(ps).items()
            }
            cells = []
            for conc, batch in CELLS:
                n = max(conc * 3, 24) if batch == 1 else max(conc * 2, 8)
                cell = load(url, docs, conc, batch, n, args.cell_s)
                cells.append(cell)
                print(_row(cell), flush=True)
            result["cells"] = cells
            soak = load(url, docs, 8, 32, 10**9, args.soak_s)
            result["soak"] = {**soak, "seconds": args.soak_s}
            result["rss_after_soak_mb"] = round(tree_rss(ps) / 2**20, 1)
            result["replica_rss_after_soak_mb"] = {
                k: round(v / 2**20, 1) for k, v in _replica_rss(ps).items()
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
    result["loadavg_end"] = os.getloadavg()  # other jobs share the machine: read numbers with it
    base = result["primer_run_until_classify"]["docs_per_s"]
    best = max(c["docs_per_s"] for c in result["cells"])
    result["best_serve_over_run"] = round(best / base, 2)
    growth = result["rss_after_soak_mb"] / result["rss_start_mb"] - 1
    result["rss_growth"] = round(growth, 3)
    print(_report(result))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(result, indent=2) + "\n")


def _wait(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    body = {"documents": [{"id": "w", "text": "Plants turn light into sugar."}]}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("primer serve exited")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.post(f"{url}/v1/score", json=body, timeout=120).status_code == 200:
                return
        time.sleep(2)
    raise TimeoutError("primer serve did not come up")


def _row(c: dict) -> str:
    return (
        f"| {c['concurrency']:>3} | {c['batch']:>3} | {c['requests']:>5} | {c['docs_per_s']:>7} | "
        f"{c['p50_ms']} | {c['p95_ms']} | {c['p99_ms']} | {c['errors']} {c['statuses']} |"
    )


def _report(r: dict) -> str:
    lines = [
        "| conc | batch | requests | docs/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(_row(c) for c in r["cells"]),
        "",
        f"primer run --until classify: {r['primer_run_until_classify']}",
        f"best serve docs/s / run docs/s: {r['best_serve_over_run']}",
        f"server RSS: start {r['rss_start_mb']} MB, after {r['soak']['seconds']:.0f} s soak "
        f"{r['rss_after_soak_mb']} MB ({r['rss_growth']:+.1%}); replicas "
        f"{r['replica_rss_start_mb']} -> {r['replica_rss_after_soak_mb']}",
        f"load average start/end: {r['loadavg_start']} / {r['loadavg_end']}",
        f"soak: {r['soak']['docs_answered']} docs, {r['soak']['docs_per_s']} docs/s, "
        f"errors {r['soak']['errors']}",
    ]
    return "\n".join(lines)
