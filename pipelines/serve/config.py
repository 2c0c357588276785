"""The ``serve:`` section of the pipeline config (``primer serve``); ``primer run`` ignores it."""

from __future__ import annotations

from pydantic import Field, model_validator

from corpus.config_base import Section


class ScalingConfig(Section):
    """Ray Serve replicas of one deployment (autoscaling between min and max)."""

    min_replicas: int = Field(1, ge=0, description="replicas kept warm")
    max_replicas: int = Field(1, ge=1, description="replicas at most under load")
    target_ongoing_requests: float = Field(
        2.0, gt=0, description="autoscaling target: ongoing requests per replica"
    )
    max_ongoing_requests: int = Field(
        32, ge=1, description="requests a replica runs at once (Ray Serve)"
    )
    num_cpus: float = Field(1.0, ge=0, description="CPUs reserved per replica")

    @model_validator(mode="after")
    def _check(self) -> ScalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas > max_replicas")
        return self

    def autoscaling(self) -> dict:
        return {
            "min_replicas": self.min_replicas,
            "initial_replicas": max(1, self.min_replicas),
            "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.target_ongoing_requests,
        }


class EduScalingConfig(ScalingConfig):
    num_gpus: float | None = Field(
        None, ge=0, description="GPUs per edu replica; default 1 when the cluster has GPUs"
    )
    max_batch_size: int = Field(
        256, ge=1, description="texts merged into one model call (@serve.batch)"
    )
    batch_wait_timeout_s: float = Field(
        0.01, ge=0, description="how long a batch waits for more requests"
    )


class ServeConfig(Section):
    host: str = Field("127.0.0.1", description="bind address (loopback unless you mean it)")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port")
    token: str | None = Field(
        None, description="bearer token required on /v1 and /metrics (or env PRIMER_TOKEN)"
    )
    max_body_bytes: int = Field(16 * 2**20, ge=1024, description="larger request bodies get 413")
    max_documents: int = Field(512, ge=1, description="documents per request at most (else 413)")
    max_text_chars: int = Field(
        1_000_000, ge=1, description="longer text/html is a per-document error"
    )
    timeout_s: float = Field(120.0, gt=0, description="a request not answered by then gets 504")
    max_concurrent: int = Field(
        4, ge=1, description="/v1 requests processed at once per front replica"
    )
    max_queued: int = Field(
        32, ge=0, description="/v1 requests waiting per front replica; beyond: 503 + Retry-After"
    )
    retry_after_s: int = Field(1, ge=1, description="Retry-After sent with 503")
    front: ScalingConfig = Field(
        default_factory=ScalingConfig,
        description="the CPU deployment: extraction, langid, rules, exact+near lookup",
    )
    edu: EduScalingConfig = Field(
        default_factory=EduScalingConfig, description="the edu-classifier deployment"
    )
