"""Build the static student's token table from the teacher's encoder (offline, once).

``model2vec`` embeds every vocabulary token with the sentence-transformer,
reduces the vectors with PCA and applies SIF weighting; we keep the first
``dims`` principal components and store them as int8 with one float32 scale
per column, so the table ships in the repository (~4 MB at 128 dims) and loads
with NumPy alone. Needs the ``distill`` extra (``pip install
'primer-corpus[distill]'``); its pins may differ from the runtime's
``transformers``, so a separate virtual environment is the safe place.

Rerun: ``python -m classifiers.distill --output classifiers/models/edu-static``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


def quantize_columns(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column int8 quantisation: ``vectors ~= q * scale``."""
    v = np.asarray(vectors, dtype=np.float32)
    scale = np.maximum(np.abs(v).max(axis=0), 1e-12) / 127.0
    q = np.clip(np.rint(v / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def write_table(
    vectors: np.ndarray, tokenizer_json: str | Path, out: str | Path, dims: int, meta: dict
) -> Path:
    """``out/`` with ``tokenizer.json``, ``vectors.npy`` (int8), ``scale.npy`` and ``meta.json``."""
    dst = Path(out)
    dst.mkdir(parents=True, exist_ok=True)
    q, scale = quantize_columns(np.asarray(vectors)[:, :dims])
    np.save(dst / "vectors.npy", q)
    np.save(dst / "scale.npy", scale)
    shutil.copyfile(tokenizer_json, dst / "tokenizer.json")
    (dst / "meta.json").write_text(
        json.dumps({**meta, "dims": dims, "dtype": "int8"}, indent=2) + "\n"
    )
    return dst


def distill(model: str | None, out: str | Path, dims: int = 128) -> Path:
    """Distil ``model`` (None: the bundled MiniLM) with model2vec and write the table to ``out``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from model2vec.distill import distill as m2v_distill
    from safetensors.numpy import load_file

    from classifiers.embed import resolve_model_path

    path = resolve_model_path(model)
    static = m2v_distill(model_name=path, pca_dims=256, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        static.save_pretrained(tmp)
        vectors = load_file(os.path.join(tmp, "model.safetensors"))["embeddings"]
        meta = {
            "teacher": model or "all-MiniLM-L6-v2",
            "method": "model2vec 0.10 distill, PCA 256, SIF 1e-4",
        }
        return write_table(vectors, os.path.join(tmp, "tokenizer.json"), out, dims, meta)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m classifiers.distill")
    ap.add_argument("--model", default=None, help="sentence-transformers name or path")
    ap.add_argument("--output", required=True)
    ap.add_argument("--dims", type=int, default=128)
    args = ap.parse_args(argv)
    print(distill(args.model, args.output, args.dims))


if __name__ == "__main__":
    main()
