"""Config of MinHash near-duplicate removal (defaults: FineWeb's 5-grams, 14 bands x 8 rows)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from corpus.config_base import Section
from corpus.dedup.semantic import SemanticDedupConfig


class DedupConfig(Section):
    enabled: bool = Field(True, description="Run near-duplicate removal at all.")
    ngram: int = Field(5, ge=1, le=8, description="Words per shingle (FineWeb, datatrove: 5).")
    bands: int = Field(14, ge=1, description="LSH bands; num_perm = bands * rows (FineWeb: 14).")
    rows: int = Field(8, ge=1, le=32, description="Signature values per band (FineWeb: 8).")
    seed: int = Field(
        1,
        description="Seed of the hash permutations; runs deduped against each other must share it.",
    )
    threshold: float = Field(
        0.8, gt=0, le=1, description="Jaccard at or above which a verified pair is a duplicate."
    )
    verify: bool = Field(
        True,
        description="Check candidate pairs by true Jaccard on shingles: LSH alone lets pairs at J 0.6-0.8 through (bench: precision 0.65 -> 1.0).",
    )
    keep: Literal["first", "longest", "highest_score"] = Field(
        "first",
        description="Which member of a cluster survives: first by (source_file, position), longest text, or highest edu_score.",
    )
    max_bucket_pairs: int = Field(
        64,
        ge=2,
        description="With verify, buckets up to this size are checked pair by pair; bigger ones only against their first member.",
    )
    partitions: int | None = Field(
        None,
        ge=1,
        description="Shuffle partitions for band grouping; default grows with the corpus (~200k band rows each).",
    )
    batch_size: int = Field(1024, ge=1, description="Documents per signature task batch.")
    in_process_max_docs: int = Field(
        1_000_000,
        ge=0,
        description="Near dedup of at most this many documents runs in the driver process, its "
        "shuffles spilled to disk by key (Ray Data's start per operation costs more than the "
        "work); larger corpora shuffle on Ray.",
    )
    semantic: SemanticDedupConfig = Field(
        default_factory=SemanticDedupConfig,
        description="Embedding-cosine dedup of the classifier's survivors (step after classify).",
    )

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @model_validator(mode="after")
    def _check(self) -> DedupConfig:
        if self.num_perm > 1024:
            raise ValueError(f"bands * rows = {self.num_perm} > 1024 permutations")
        return self
