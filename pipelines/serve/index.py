"""What ``primer serve --index OUT`` looks documents up against: a finished run's kept documents.

* exact: the ``text_hash`` of every kept document, from the ledger (``documents``).
* near: the MinHash band hashes that ``primer run`` persisted for ``--against``
  (``OUT/work/near/minhash/bands-*.parquet``, documents that survived near dedup),
  restricted to the ledger's kept documents. A run that persisted none (dedup
  disabled, ``--until ingest``) gets its bands computed here at start from its
  corpus (``OUT/corpus/part-*.jsonl.zst``); ``built_from`` says which.

Everything is read once, read-only, into memory: the service never writes to the
run. Earlier documents are graph nodes named like ``primer run --against`` names them
(``node_ids(uid, OLD_SALT)``), so the keep policy treats them the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpus import ledger
from corpus.dedup.candidates import OLD_SALT, doc_bands, node_ids
from corpus.dedup.config import DedupConfig

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Keys whose values must match between the run and the service for band lookups to mean anything.
_BAND_KEYS = ("ngram", "bands", "rows", "seed")


def band_keys(band: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """One uint64 per ``(band, hash)`` (distinct pairs collide with probability ~2^-64)."""
    with np.errstate(over="ignore"):
        return hashes.astype(np.uint64) ^ (band.astype(np.uint64) * _GOLDEN)


@dataclass
class EarlierIndex:
    out: str
    built_from: str  # "persisted" or "corpus"
    n_kept: int
    exact: dict[int, str]  # text_hash -> id of the kept document
    keys: np.ndarray  # sorted band keys
    key_node: np.ndarray  # node of each key
    nodes: np.ndarray  # sorted node ids
    node_uid: list[str]
    node_id: list[str]

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(query positions, earlier nodes)`` for every earlier document sharing a key."""
        lo = np.searchsorted(self.keys, keys, "left")
        hi = np.searchsorted(self.keys, keys, "right")
        counts = hi - lo
        if not counts.sum():
            return np.empty(0, np.int64), np.empty(0, np.uint64)
        q = np.repeat(np.arange(len(keys)), counts)
        starts = np.repeat(lo, counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return q, self.key_node[starts + offs]

    def describe(self, nodes: np.ndarray) -> tuple[list[str], list[str]]:
        pos = np.searchsorted(self.nodes, nodes)
        return [self.node_uid[p] for p in pos], [self.node_id[p] for p in pos]


def _run_dedup_config(con) -> dict | None:
    rows = con.execute(
        "SELECT config FROM runs WHERE status = 'ok' ORDER BY finished DESC LIMIT 1"
    ).fetchall()  # fetchall: this DuckDB refuses new work while a result is unfinished
    row = rows[0] if rows else None
    return (json.loads(row[0]) or {}).get("dedup") if row and row[0] else None


def _corpus_bands(out: Path, cfg: DedupConfig) -> pa.Table:
    """``uid, id, band, hash`` of the corpus's documents, computed now (no persisted index)."""
    from corpus.readers.jsonl import read as read_jsonl

    uids, ids, texts = [], [], []
    for part in sorted((out / "corpus").glob("part-*.jsonl.zst")):
        for rec in read_jsonl(part):
            if hasattr(rec, "text"):
                uids.append(f"{part.name}:{rec.position}")
                ids.append(rec.id)
                texts.append(rec.text)
    if not texts:
        return pa.table({"uid": [], "id": [], "band": [], "hash": []})
    t = pa.table(
        {
            "uid": uids,
            "id": ids,
            "source_file": ["corpus"] * len(ids),
            "position": list(range(len(ids))),
            "text": texts,
        }
    )
    docs = doc_bands(t, cfg)
    n = docs.num_rows
    idx = pa.array(np.repeat(np.arange(n), cfg.bands))
    return pa.table(
        {
            "uid": docs.column("uid").take(idx),
            "id": docs.column("id").take(idx),
            "band": np.tile(np.arange(cfg.bands, dtype=np.int16), n),
            "hash": docs.column("bands").combine_chunks().flatten(),
        }
    )


def load_index(out: str | Path, cfg: DedupConfig) -> EarlierIndex:
    """Read a finished run's kept documents; fails with one line if OUT is not one."""
    from pipelines.layout import Layout
    from pipelines.near_dedup import index_dir

    out = Path(out)
    layout = Layout(out)
    con = ledger.connect(layout.ledger, read_only=True)
    try:
        try:
            kept = con.execute(
                "SELECT uid, id, text_hash FROM documents WHERE kept AND text_hash IS NOT NULL "
                "ORDER BY source_file, position"
            ).fetchall()
        except Exception as e:  # no documents table: the run never finished
            raise FileNotFoundError(f"{out}: no finished run (ledger has no documents)") from e
        exact = {int(h): i for _, i, h in reversed(kept)}  # first kept document wins
        run_dedup = _run_dedup_config(con)
        if run_dedup:
            diff = [k for k in _BAND_KEYS if k in run_dedup and run_dedup[k] != getattr(cfg, k)]
            if diff:
                raise ValueError(
                    f"--index {out}: its run used dedup.{diff[0]}={run_dedup[diff[0]]}, "
                    f"this config {getattr(cfg, diff[0])}; serve with the run's config"
                )
        try:
            files = sorted(str(p) for p in (index_dir(out) / "minhash").glob("*.parquet"))
        except FileNotFoundError:
            files = []
        if files:
            bands = con.sql(
                f"SELECT m.uid, m.id, m.band, m.hash FROM read_parquet({files!r}) m "
                "SEMI JOIN (SELECT uid FROM documents WHERE kept) d ON m.uid = d.uid"
            ).to_arrow_table()
            built_from = "persisted"
        else:
            bands = _corpus_bands(out, cfg)
            built_from = "corpus"
    finally:
        con.close()
    uid = bands.column("uid").to_pylist()
    node = node_ids(uid, OLD_SALT) if uid else np.empty(0, np.uint64)
    keys = band_keys(
        np.asarray(bands.column("band").to_numpy(), np.int64).astype(np.uint64),
        np.asarray(bands.column("hash").to_numpy(), np.uint64),
    )
    order = np.argsort(keys, kind="stable")
    nodes, first = np.unique(node, return_index=True)
    ids = bands.column("id").to_pylist()
    return EarlierIndex(
        out=str(out),
        built_from=built_from,
        n_kept=len(kept),
        exact=exact,
        keys=keys[order],
        key_node=node[order],
        nodes=nodes,
        node_uid=[uid[i] for i in first],
        node_id=[ids[i] for i in first],
    )
