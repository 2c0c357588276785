"""Document embeddings cached on disk, keyed by encoder settings and the texts themselves.

Training compares many heads on the same 800 files; the encoder is the slow
part, so its output is stored once (``.npy`` named by a SHA-256 of the model,
its settings and every text) and reused by every later run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path(os.environ.get("PRIMER_CACHE", Path.home() / ".cache" / "primer")) / "code"


def cache_key(texts: Sequence[str], settings: str) -> str:
    h = hashlib.sha256(settings.encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()[:32]


def cached_embed(embedder, texts: Sequence[str], cache_dir: str | Path | None) -> np.ndarray:
    """``embedder.encode(texts)``, read from / written to ``cache_dir`` (None: no cache)."""
    if cache_dir is None:
        return embedder.encode(texts)
    settings = (
        f"{embedder.model_name}|{embedder.pooling}|{embedder.max_chars}|{embedder.max_chunks}"
    )
    path = Path(cache_dir) / f"emb-{cache_key(texts, settings)}.npy"
    if path.is_file():
        emb = np.load(path)
        if emb.shape == (len(texts), embedder.dim):
            return emb
    emb = embedder.encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npy")
    np.save(tmp, emb)
    os.replace(tmp, path)
    return emb
