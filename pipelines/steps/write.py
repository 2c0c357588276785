"""The last step: the surviving documents as ``part-NNNNN.jsonl.zst``, swapped in atomically.

Its decision table drops nothing and measures ``shard`` (the part file of each kept
document). The documents it writes are the ledger's own query (``decisions_sql``) with
``drop_reason IS NULL``, so the corpus and the ledger cannot disagree.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from corpus import ledger
from corpus.writer import ShardedWriter
from pipelines.config import ShardConfig
from pipelines.progress import say
from pipelines.steps.base import Step, StepContext, decision_table

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


class Write(Step):
    name = "write"
    reads = ("*",)  # the text and every column that goes into a document's metadata
    measured = pa.schema([("shard", pa.string())])

    def run(self, ctx: StepContext) -> pa.Table:
        dest = ctx.layout.corpus
        table, n_docs, _ = write_corpus(
            ctx.layout.docs_files(), ctx.earlier, dest, ctx.config.shards
        )
        say(f"write: {n_docs} kept document(s) -> {dest}")
        return table


def write_corpus(
    docs: Sequence[Path], steps: Sequence[Path], dest: Path, shards: ShardConfig
) -> tuple[pa.Table, int, int]:
    """Stream the surviving documents in stable order into ``dest``.

    Returns the write step's decision table (uid -> shard), documents and tokens.
    Written into ``dest.new`` and renamed over ``dest`` at the end, so a killed run
    leaves the previous corpus in place.
    """
    new = dest.with_name(dest.name + ".new")
    old = dest.with_name(dest.name + ".old")
    spill = dest.with_name(dest.name + ".sort-tmp")
    shutil.rmtree(new, ignore_errors=True)
    shutil.rmtree(spill, ignore_errors=True)
    # The sort holds every kept text: capped, it spills to disk instead of growing with
    # the corpus (DuckDB's default cap is 80% of RAM: 1M web documents took 3.2 GB), and
    # it carries only the columns a document needs, on one thread (wider rows or more
    # threads made DuckDB 2.0 fail to pin blocks under the cap); the Python writer below,
    # not the sort, sets the pace.
    con = duckdb.connect(
        config={
            "memory_limit": f"{shards.sort_memory_mib}MB",
            "temp_directory": str(spill),
            "threads": 1,
        }
    )
    needed = "|".join(("uid", "id", "text", "metadata", "position", *METADATA_COLUMNS))
    reader = con.sql(
        f"SELECT COLUMNS('^({needed})$') "
        f"FROM ({ledger.decisions_sql(docs, steps, with_text=True)}) "
        "WHERE drop_reason IS NULL ORDER BY source_file, position"
    ).to_arrow_reader(4096)
    uids: list[pa.Array] = []
    parts: list[pa.Array] = []
    n_tokens = 0
    with ShardedWriter(new, shards.max_docs, shards.max_bytes) as writer:
        for batch in reader:
            rows = batch.to_pylist()
            written = []
            for r in rows:
                doc = {"id": r["id"], "text": r["text"], "metadata": document_metadata(r)}
                written.append(writer.write(doc))
            # Arrow copies, not lists of str (~3x less per document) nor slices of
            # ``batch`` (they would keep every batch's texts alive)
            parts.append(pa.array(written, pa.string()))
            uids.append(pa.array([r["uid"] for r in rows], pa.string()))
            n_tokens += sum(r.get("n_tokens") or 0 for r in rows)
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    new.mkdir(parents=True, exist_ok=True)  # an empty corpus is still a corpus
    if dest.exists():
        dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    uid = pa.chunked_array(uids, pa.string())
    shard = pa.chunked_array(parts, pa.string())
    return decision_table(Write, {"uid": uid, "shard": shard}), len(uid), n_tokens
