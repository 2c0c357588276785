"""Prometheus metrics of one front replica (``GET /metrics``, text format).

Each replica keeps its own registry; with several front replicas a scrape sees
the one that answered (the ``replica`` label says which). Ray Serve's own
metrics (queues, replicas) are on Ray's metrics port.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # no *_created series: they only add noise to a scrape
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self, replica: str) -> None:
        self.registry = CollectorRegistry()
        r, labels = self.registry, ["replica"]
        self.replica = replica
        self.requests = Counter(
            "primer_requests", "HTTP requests", labels + ["endpoint", "status"], registry=r
        )
        self.documents = Counter(
            "primer_documents", "documents received", labels + ["endpoint"], registry=r
        )
        self.latency = Histogram(
            "primer_request_seconds",
            "request latency",
            labels + ["endpoint"],
            buckets=BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            "primer_decisions",
            "per-document decisions by drop stage ('kept', or 'error')",
            labels + ["stage"],
            registry=r,
        )
        self.in_flight = Gauge(
            "primer_requests_in_flight", "/v1 requests admitted, not answered", labels, registry=r
        )

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(self.replica, endpoint, str(status)).inc()
        self.latency.labels(self.replica, endpoint).observe(seconds)

    def docs(self, endpoint: str, n: int) -> None:
        self.documents.labels(self.replica, endpoint).inc(n)

    def decision(self, stage: str) -> None:
        self.decisions.labels(self.replica, stage).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)
