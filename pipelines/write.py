"""Write the kept documents of a run as ``part-NNNNN.jsonl.zst`` shards, swapped in atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from corpus import ledger
from corpus.writer import ShardedWriter
from pipelines.config import ShardConfig
from pipelines.layout import Layout

# Ledger columns copied into each kept document's metadata (Dolma/datatrove read `metadata`).
METADATA_COLUMNS = (
    "url",
    "domain",
    "lang",
    "lang_score",
    "n_tokens",
    "edu_score",
    "source",
    "source_file",
)


def document_metadata(row: dict[str, Any]) -> dict[str, Any]:
    meta = json.loads(row["metadata"]) if row.get("metadata") else {}
    for key in METADATA_COLUMNS:
        value = row.get(key)
        if value is not None:
            meta[key] = value
    return meta


def write_corpus(
    layout: Layout, dest: Path, shards: ShardConfig, min_edu: float | None, shard_map_file: Path
) -> tuple[int, int]:
    """Stream kept documents in stable order into ``dest``; return (documents, tokens).

    Written into ``dest.new`` and renamed over ``dest`` at the end, so a killed
    run leaves the previous corpus in place. ``shard_map_file`` gets uid -> part.
    """
    new = dest.with_name(dest.name + ".new")
    old = dest.with_name(dest.name + ".old")
    shutil.rmtree(new, ignore_errors=True)
    con = duckdb.connect()
    reader = con.sql(
        f"SELECT * FROM ({ledger.decisions_sql(layout, min_edu, with_text=True)}) "
        "WHERE drop_reason IS NULL ORDER BY source_file, position"
    ).to_arrow_reader(4096)
    n_docs = n_tokens = 0
    schema = pa.schema([("uid", pa.string()), ("shard", pa.string())])
    shard_map_file.parent.mkdir(parents=True, exist_ok=True)
    tmp_map = shard_map_file.with_name(shard_map_file.name + ".tmp")
    with (
        pq.ParquetWriter(tmp_map, schema) as shard_map,
        ShardedWriter(new, shards.max_docs, shards.max_bytes) as writer,
    ):
        for batch in reader:
            rows = batch.to_pylist()
            parts = [
                writer.write({"id": r["id"], "text": r["text"], "metadata": document_metadata(r)})
                for r in rows
            ]
            shard_map.write_table(
                pa.table({"uid": [r["uid"] for r in rows], "shard": parts}, schema=schema)
            )
            n_docs += len(rows)
            n_tokens += sum(r.get("n_tokens") or 0 for r in rows)
    con.close()
    new.mkdir(parents=True, exist_ok=True)  # an empty corpus is still a corpus
    tmp_map.replace(shard_map_file)
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return n_docs, n_tokens
