"""``primer topics``' library side: corpus documents -> clustered seed topics -> a topic file.

Glue across layers (corpus readers and writer, synth's clustering), hence in pipelines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _texts(patterns: Sequence[str], min_edu: float | None, limit: int) -> list[str]:
    """Non-empty texts, at most ``limit``, with ``edu_score`` >= ``min_edu`` when given."""
    from corpus.readers import iter_records

    out: list[str] = []
    for rec in iter_records(patterns):
        score = rec.metadata.get("edu_score")
        if not rec.text.strip() or (
            min_edu is not None and (score is None or float(score) < min_edu)
        ):
            continue
        out.append(rec.text)
        if len(out) >= limit:
            break
    return out


def derive_topics(
    inputs: Sequence[str],
    output: str | Path,
    *,
    covered: Sequence[str] = (),
    min_edu: float | None = None,
    n_clusters: int = 20,
    limit: int = 2000,
    seed: int = 0,
) -> list[Any]:
    """Cluster the high-value ``inputs``, measure ``covered``'s share, write ``output`` (JSONL).

    Returns the clusters (``synth.topics``), least covered first, as written.
    """
    from corpus.writer import JsonlWriter
    from synth.topics import cluster_topics, sentence_embedder

    high = _texts(inputs, min_edu, limit)
    cov = _texts(covered, None, limit) if covered else []
    clusters = cluster_topics(
        high, sentence_embedder(), n_clusters=n_clusters, covered=cov, seed=seed
    )
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with JsonlWriter(output) as w:
        for cl in clusters:
            w.write(
                {
                    "topic": cl.name,
                    "subtopics": cl.keywords[3:],
                    "seed_text": cl.exemplar[:1500],
                    "cluster_size": cl.size,
                    "coverage": cl.coverage,
                    "coverage_share": round(cl.coverage_share, 4),
                }
            )
    return clusters
