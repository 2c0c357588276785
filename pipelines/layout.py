"""Where a run keeps its files under ``OUT/``, and the per-shard completion markers.

OUT/corpus/part-NNNNN.jsonl.zst      kept documents (text, id, metadata)
OUT/corpus.duckdb                    the ledger: documents, runs, rejects
OUT/work/docs/<key>/*.parquet        every input document with its ingest decisions
OUT/work/rejects/<key>.parquet       input that could not be parsed
OUT/work/done/<key>.json             written last: the shard is finished
OUT/work/decisions/NN-<step>.parquet one decision table per global step (pipelines/steps)
OUT/work/near/, edu/                 near dedup's MinHash index; edu scores cached by uid
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def shard_key(path: Path) -> str:
    """Stable name for an input file's outputs: readable stem + hash of its absolute path
    (of its object URI for a staged object-store input: the same on every node)."""
    from pipelines.remote import input_uri

    digest = hashlib.sha1((input_uri(path) or str(path.resolve())).encode()).hexdigest()[:12]
    stem = path.name.split(".")[0][:40] or "input"
    return f"{stem}-{digest}"


def file_fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


@dataclass(frozen=True)
class Layout:
    out: Path

    @property
    def work(self) -> Path:
        return self.out / "work"

    @property
    def corpus(self) -> Path:
        return self.out / "corpus"

    @property
    def ledger(self) -> Path:
        return self.out / "corpus.duckdb"

    def docs_dir(self, key: str) -> Path:
        return self.work / "docs" / key

    def rejects_file(self, key: str) -> Path:
        return self.work / "rejects" / f"{key}.parquet"

    def marker(self, key: str) -> Path:
        return self.work / "done" / f"{key}.json"

    def is_done(
        self, path: Path, key: str | None = None, plan: dict[str, Any] | None = None
    ) -> bool:
        """Finished before, and the input file has not changed since.

        ``key``/``plan``: one part of a split file (``pipelines.parts.Part.key`` and
        ``marker_fields()``); its marker must record the same split.
        """
        marker = self.marker(key or shard_key(path))
        if not marker.is_file():
            return False
        try:
            done = json.loads(marker.read_text())
        except ValueError:
            return False
        if any(done.get(k) != v for k, v in (plan or {}).items()):
            return False
        return done.get("fingerprint") == file_fingerprint(path)

    def work_keys(self) -> list[str]:
        """Every key with work files (docs, rejects or a marker)."""
        keys = {p.name for p in _sorted_glob(self.work / "docs", "*") if p.is_dir()}
        keys.update(p.name.removesuffix(".parquet") for p in self.rejects_files())
        keys.update(p.name.removesuffix(".json") for p in self.marker_files())
        return sorted(k for k in keys if not k.endswith(".tmp"))

    def remove_key(self, key: str) -> None:
        """Drop one key's work files, marker first (a half-removed key is never "done")."""
        self.marker(key).unlink(missing_ok=True)
        self.rejects_file(key).unlink(missing_ok=True)
        shutil.rmtree(self.docs_dir(key), ignore_errors=True)

    def marker_files(self) -> list[Path]:
        """One JSON per finished input shard (docs, seconds, the Ray node that ran it)."""
        return _sorted_glob(self.work / "done", "*.json")

    def done_markers(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in self.marker_files()]

    def decisions_dir(self) -> Path:
        return self.work / "decisions"

    def docs_files_of(self, key: str) -> list[Path]:
        return _sorted_glob(self.docs_dir(key), "*.parquet")

    def docs_files(self) -> list[Path]:
        return _sorted_glob(self.work / "docs", "*/*.parquet")

    def rejects_files(self) -> list[Path]:
        return _sorted_glob(self.work / "rejects", "*.parquet")

    def generation_files(self) -> list[Path]:
        """Synth gate decisions (JSONL), one file per generation batch."""
        return _sorted_glob(self.out / "synth-work" / "gates", "*.jsonl")

    def docs_glob(self) -> str:
        return str(self.work / "docs" / "*" / "*.parquet")

    def rejects_glob(self) -> str:
        return str(self.work / "rejects" / "*.parquet")


def _sorted_glob(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern)) if root.is_dir() else []
