"""The fast runtime of the ``local`` backend: Gemma 3 270M as an int8 CTranslate2 model.

Why CTranslate2: it installs from PyPI as a prebuilt wheel (no compiler; llama.cpp's
Python bindings compile for ~5 min on PyPI, and the prebuilt llama.cpp wheels there need
a newer glibc than Debian 12's), and its int8 kernels run Gemma 3 at ~27-30 tokens/s on
2 cores, far ahead of transformers in float32 (``python -m bench synth`` runs both).

CTranslate2 cannot read GGUF. The first use converts the de-quantised Hugging Face copy
(which ``local_gguf`` makes from the GGUF) into an int8 CTranslate2 model next to it, in
a temporary folder renamed when complete; later loads read it in about a second. Only
``tokenizers`` and ``ctranslate2`` are imported then (no torch, no transformers).

Sampling: CTranslate2 seeds one random generator per worker thread, once, so it cannot
be reseeded per prompt. The generator is seeded when the model loads: the same prompts in
the same order give the same texts, but a resumed run samples its remaining prompts anew.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

QUANTIZATION = "int8"


def available() -> bool:
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        return False
    return True


def convert(hf_dir: Path, target: Path) -> float:
    """Hugging Face folder -> int8 CTranslate2 folder (atomic); returns the seconds it took."""
    from ctranslate2.converters import TransformersConverter

    start = time.perf_counter()
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    TransformersConverter(str(hf_dir), copy_files=["tokenizer.json"]).convert(
        str(tmp), quantization=QUANTIZATION, force=True
    )
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return time.perf_counter() - start


def is_converted(target: Path) -> bool:
    return all((target / f).exists() for f in ("model.bin", "config.json", "tokenizer.json"))


class CT2Runner:
    """One loaded model; ``generate(prompt_text, ...)`` -> (text, prompt_tokens, new_tokens)."""

    def __init__(self, model_dir: Path, threads: int | None, seed: int = 0) -> None:
        import ctranslate2
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        ctranslate2.set_random_seed(seed)  # read once by the worker thread's generator
        self.gen = ctranslate2.Generator(
            str(model_dir), device="cpu", compute_type=QUANTIZATION, intra_threads=threads or 0
        )
        self.end_ids = [
            i for i in (self.tok.token_to_id("<eos>"), self.tok.token_to_id("<end_of_turn>")) if i
        ]

    def generate(self, prompt: str, cfg: Any) -> tuple[str, int, int]:
        enc = self.tok.encode(prompt)  # the tokenizer adds <bos>
        (res,) = self.gen.generate_batch(
            [enc.tokens],
            max_length=cfg.max_new_tokens,
            sampling_topk=50,  # transformers' default top-k when sampling: same sampler
            sampling_topp=cfg.top_p,
            sampling_temperature=cfg.temperature,
            repetition_penalty=cfg.repetition_penalty,
            no_repeat_ngram_size=cfg.no_repeat_ngram_size,
            end_token=self.end_ids,
            include_prompt_in_result=False,
        )
        ids = res.sequences_ids[0]
        return self.tok.decode(ids, skip_special_tokens=True).strip(), len(enc.ids), len(ids)
