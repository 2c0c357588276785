"""Derived code forms of HumanEval and MBPP for ``corpus.decontam_code``.

``code-ast.jsonl.zst``: per benchmark function, the canonical statement hashes
(no code text); ``code-emb.npz``: int8 all-MiniLM-L6-v2 embeddings (per-row scale)
of each item's signature + task statement. Built from the original files by
``python -m corpus.benchmarks build`` (the embeddings need sentence-transformers).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import zstandard

from corpus.benchmarks import DATA
from corpus.decontam import _iter_jsonl
from corpus.decontam_code import DocEmbedder, benchmark_functions, function_prints, task_text

CODE_SETS = {"humaneval": "HumanEval.jsonl.gz", "mbpp": "mbpp.jsonl"}
AST_FILE, EMB_FILE = DATA / "code-ast.jsonl.zst", DATA / "code-emb.npz"


def build_code(source: Path, embed: bool = True) -> dict[str, int]:
    rows, keys, texts = [], [], []
    for name, file_name in CODE_SETS.items():
        for rec in _iter_jsonl(source / file_name):
            for item, code, text in benchmark_functions(rec, name):
                for f in function_prints(code):
                    if f.statements or f.shape is not None:
                        hashes = [f"{h:016x}" for h in f.statements]
                        shape = f"{f.shape:016x}" if f.shape is not None else None
                        rows.append(
                            {"benchmark": name, "item": item, "statements": hashes, "shape": shape}
                        )
                t = task_text(code, text, name)
                if t:
                    keys.append(f"{name}/{item}")
                    texts.append(t)
    blob = zstandard.ZstdCompressor(level=19).compress(
        "".join(json.dumps(r) + "\n" for r in rows).encode()
    )
    tmp = AST_FILE.with_name(AST_FILE.name + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, AST_FILE)
    if embed:
        emb = DocEmbedder.encode(texts)
        scale = np.abs(emb).max(axis=1) / 127.0
        q = np.round(emb / scale[:, None]).astype(np.int8)
        tmp = EMB_FILE.with_name("code-emb.tmp.npz")
        np.savez_compressed(tmp, q=q, scale=scale.astype(np.float32), keys=np.array(keys))
        os.replace(tmp, EMB_FILE)
    print(f"code forms: {len(rows)} functions -> {AST_FILE}, {len(keys)} task embeddings")
    return {"functions": len(rows), "embeddings": len(keys)}
