"""A real two-node Ray cluster on this machine, for the cluster tests.

Each node is a ``ray start --block`` process in its own session and temp dir, with every
port chosen free up front (two raylets on one host must not share the dashboard agent's
or the metrics port, nor collide with other Ray instances on the machine). Teardown
stops exactly what was started: the ``ray start`` process groups, then any process whose
command line names one of our temp dirs, each by process id.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
RAY = str(Path(sys.executable).with_name("ray"))
START_TIMEOUT_S = float(os.environ.get("PRIMER_TEST_RAY_START_S", "240"))


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def node_env() -> dict[str, str]:
    """What Ray workers on our nodes inherit: this checkout first on the path, offline."""
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        RAY_USAGE_STATS_ENABLED="0",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        # Ray 2.5x turns token auth on when ~/.ray/auth_token exists (any earlier local
        # ray.init writes one): keep this throwaway cluster independent of that file.
        RAY_AUTH_MODE="disabled",
    )
    return env


@dataclass
class Node:
    temp_dir: Path
    proc: subprocess.Popen
    log: Path

    def descendants(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            return psutil.Process(self.proc.pid).children(recursive=True)
        return []

    def raylet(self) -> psutil.Process:
        for p in self.descendants():
            with contextlib.suppress(psutil.Error):
                if p.name() == "raylet":
                    return p
        raise RuntimeError(f"no raylet under ray start pid {self.proc.pid}")


@dataclass
class Cluster:
    address: str  # host:port of the head's GCS (what RAY_ADDRESS takes)
    dashboard: str  # http://127.0.0.1:port (job submission)
    nodes: list[Node] = field(default_factory=list)

    def alive_node_ids(self) -> list[str]:
        """Node ids the head's GCS holds as alive (through the dashboard's state API)."""
        url = f"{self.dashboard}/api/v0/nodes?limit=100"
        with urllib.request.urlopen(url, timeout=20) as r:
            body = json.load(r)
        rows = body["data"]["result"]["result"]
        return sorted(n["node_id"] for n in rows if n["state"] == "ALIVE")

    def stop(self) -> None:
        stop_nodes(self.nodes)


def _start_node(args: list[str], temp_dir: Path, env: dict[str, str]) -> Node:
    log = temp_dir / "ray-start.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [RAY, "start", "--block", "--disable-usage-stats", f"--temp-dir={temp_dir}", *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**node_env(), **env},
            start_new_session=True,  # its own process group: stopped as one
            cwd=temp_dir,
        )
    return Node(temp_dir, proc, log)


def _ours(temp_dirs: list[Path]) -> list[psutil.Process]:
    marks = [str(t) for t in temp_dirs]
    found = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if any(m in cmd for m in marks):
            found.append(p)
    return found


def stop_nodes(nodes: list[Node], grace_s: float = 10.0) -> None:
    """SIGTERM then SIGKILL, by pid, every process we started (and what they started)."""
    procs: dict[int, psutil.Process] = {}
    for node in nodes:
        for p in [*node.descendants(), *_ours([node.temp_dir])]:
            procs[p.pid] = p
        with contextlib.suppress(psutil.Error):
            procs[node.proc.pid] = psutil.Process(node.proc.pid)
    procs.pop(os.getpid(), None)
    for p in procs.values():
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(list(procs.values()), timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    for node in nodes:
        with contextlib.suppress(Exception):
            node.proc.wait(timeout=grace_s)
        shutil.rmtree(node.temp_dir, ignore_errors=True)


def start_cluster(
    n_nodes: int = 2, attempts: int = 3, env: list[dict[str, str]] | None = None
) -> Cluster:
    """A head (GCS, dashboard) plus ``n_nodes - 1`` worker nodes, 1 CPU each; waits for all.
    ``env``: extra environment per node (its Ray workers inherit it).

    ``ray start`` gives a raylet 30 s (hard-coded) to register with the GCS; on a
    loaded machine that can fail, so each node gets ``attempts`` tries in fresh dirs.
    """
    nodes: list[Node] = []
    (gcs, dash, client, *rest) = free_ports(3 + 4 * n_nodes)
    cluster = Cluster(f"127.0.0.1:{gcs}", f"http://127.0.0.1:{dash}", nodes)
    try:
        for i in range(n_nodes):
            agent, agent_grpc, metrics, rt_agent = rest[4 * i : 4 * i + 4]
            common = [
                "--num-cpus=1",
                "--node-ip-address=127.0.0.1",
                f"--dashboard-agent-listen-port={agent}",
                f"--dashboard-agent-grpc-port={agent_grpc}",
                f"--metrics-export-port={metrics}",
                f"--runtime-env-agent-port={rt_agent}",
                "--object-store-memory=200000000",
            ]
            if i == 0:
                args = [
                    "--head",
                    f"--port={gcs}",
                    f"--ray-client-server-port={client}",
                    "--include-dashboard=true",
                    "--dashboard-host=127.0.0.1",
                    f"--dashboard-port={dash}",
                ]
            else:
                args = [f"--address=127.0.0.1:{gcs}"]
            for attempt in range(attempts):
                # Short paths: Ray's unix sockets live under the temp dir (108-byte limit).
                temp_dir = Path(tempfile.mkdtemp(prefix=f"rc{i}-", dir="/tmp"))
                nodes.append(_start_node(args + common, temp_dir, (env or [{}] * n_nodes)[i]))
                try:
                    _wait(cluster, i + 1)
                    break
                except RuntimeError:  # ray start gave up (its own 30 s limit)
                    stop_nodes([nodes.pop()])
                    if attempt == attempts - 1:
                        raise
        return cluster
    except BaseException:
        stop_nodes(nodes)
        raise


def _wait(cluster: Cluster, n: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last: object = None
    while time.monotonic() < deadline:
        for node in cluster.nodes:
            if node.proc.poll() is not None:
                raise RuntimeError(f"ray start exited: {node.log.read_text()[-3000:]}")
        try:
            if len(cluster.alive_node_ids()) >= n:
                return
        except Exception as e:  # dashboard not up yet
            last = e
        time.sleep(2)
    logs = "\n".join(n.log.read_text()[-2000:] for n in cluster.nodes)
    raise TimeoutError(f"{n} Ray node(s) not alive after {START_TIMEOUT_S} s ({last}):\n{logs}")
