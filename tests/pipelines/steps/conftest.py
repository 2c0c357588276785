"""Small hand-written ingest outputs for the step tests (no Ray, no model)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.layout import Layout


def write_docs(layout: Layout, rows: list[dict], key: str = "in-0") -> None:
    """``rows``: id, text and optionally drop_stage/drop_reason/text_hash/profile/...;
    uid, source_file and position follow the row's place, as ingest makes them."""
    full = []
    for i, r in enumerate(rows):
        full.append(
            {
                "uid": f"{key}/{i}",
                "source": "in.jsonl",
                "source_file": f"/data/{key}.jsonl",
                "position": i,
                "url": None,
                "metadata": "{}",
                "drop_stage": None,
                "drop_reason": None,
                "n_tokens": len(r["text"].split()),
                "profile": "web",
                **r,
            }
        )
    layout.docs_dir(key).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(full), layout.docs_dir(key) / "part-0.parquet")
