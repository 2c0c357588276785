"""Re-threshold a finished run on its stored edu scores, without running any model."""

from __future__ import annotations

from pathlib import Path

from corpus import ledger
from pipelines.config import ShardConfig
from pipelines.layout import Layout
from pipelines.write import write_corpus


def select_corpus(
    src: Path, dest: Path, min_edu: float, max_docs: int = 100_000
) -> tuple[int, int]:
    """Write ``dest/corpus`` and ``dest/corpus.duckdb`` from ``src``'s work files at ``min_edu``."""
    layout = Layout(src)
    if not any((layout.work / "edu").glob("*/*.parquet")):
        raise FileNotFoundError(f"{src}: no stored edu scores (run the classify step first)")
    dest.mkdir(parents=True, exist_ok=True)
    shard_map = dest / "shards.parquet"
    n, tokens = write_corpus(
        layout, dest / "corpus", ShardConfig(max_docs=max_docs), min_edu, shard_map
    )
    con = ledger.connect(dest / "corpus.duckdb")
    ledger.build_index(con, layout, min_edu, shard_map)
    con.close()
    return n, tokens
