"""The ``vllm`` backend: batch generation with vLLM engines on Ray via ``ray.data.llm``.

For GPU clusters. ``ray.data.llm`` needs ``pip install 'primer-corpus[vllm]'``
(``ray[llm]``, which brings vLLM) and one GPU per engine replica x tensor-parallel
size. Everything up to the engine is plain data (``processor_config_kwargs``,
``sampling_params``, ``rows_from_prompts``), so it is tested without a GPU. The engine
itself (Ray Data + vLLM) lives in ``pipelines.vllm_engine``, which registers it in
``synth.backends``' engine registry: synth never imports pipelines or Ray. A missing
runtime or engine raises ``BackendUnavailable`` saying what to do.

Run on a cluster (head node, model weights reachable from every GPU node)::

    pip install 'primer-corpus[vllm]'
    primer synth --topics topics.yaml --n 20000 --backend vllm \\
        --model meta-llama/Llama-3.1-8B-Instruct --output out/
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from synth.backends import EngineGenerate, engine
from synth.backends.base import BackendUnavailable, Generation, Messages
from synth.config import VLLMConfig


def processor_config_kwargs(cfg: VLLMConfig) -> dict[str, Any]:
    """Arguments of ``ray.data.llm.vLLMEngineProcessorConfig`` for this config."""
    return {
        "model_source": cfg.model_source,
        "engine_kwargs": {
            "tensor_parallel_size": cfg.tensor_parallel_size,
            "max_model_len": cfg.max_model_len,
            "gpu_memory_utilization": cfg.gpu_memory_utilization,
            "enable_chunked_prefill": True,
        },
        "concurrency": cfg.concurrency,
        "batch_size": cfg.batch_size,
        "apply_chat_template": True,
        "tokenize": True,
        "detokenize": True,
    }


def sampling_params(cfg: VLLMConfig) -> dict[str, Any]:
    return {"temperature": cfg.temperature, "top_p": cfg.top_p, "max_tokens": cfg.max_tokens}


def rows_from_prompts(prompts: Sequence[Messages]) -> list[dict[str, Any]]:
    """One Ray Data row per prompt; ``row`` restores input order after the engines."""
    return [{"row": i, "messages": list(m)} for i, m in enumerate(prompts)]


def missing_runtime() -> str | None:
    """Why this backend cannot run here, or None."""
    for module, hint in (("vllm", "vLLM"), ("aiohttp", "ray[llm]")):
        if importlib.util.find_spec(module) is None:
            return (
                f"the vllm backend needs {hint} (module {module!r} is missing): "
                "pip install 'primer-corpus[vllm]' on a machine with a GPU, or use "
                "--backend openai against a running server, or --backend local"
            )
    return None


class VLLMBackend:
    name = "vllm"

    def __init__(self, cfg: VLLMConfig, generate: EngineGenerate | None = None) -> None:
        self.cfg = cfg
        self.model = cfg.model_source
        self._generate = generate  # None: the engine registered under "vllm" at call time

    def generate(self, prompts: Sequence[Messages]) -> list[Generation]:
        reason = missing_runtime()
        if reason:
            raise BackendUnavailable(reason)
        run_engine = self._generate or engine("vllm")
        if run_engine is None:
            raise BackendUnavailable(
                "no vLLM engine is registered: run the vllm backend through primer "
                "(`primer synth --backend vllm`), which registers pipelines.vllm_engine"
            )
        params = sampling_params(self.cfg)
        out = run_engine(
            processor_config_kwargs(self.cfg),
            rows_from_prompts(prompts),
            preprocess=lambda row: {
                "row": row["row"],
                "messages": row["messages"],
                "sampling_params": params,
            },
            postprocess=lambda row: {
                "row": row["row"],
                "text": row.get("generated_text"),
                "prompt_tokens": int(row.get("num_input_tokens") or 0),
                "completion_tokens": int(row.get("num_generated_tokens") or 0),
            },
        )
        by_row = {r["row"]: r for r in out}
        results = []
        for i in range(len(prompts)):
            r = by_row.get(i)
            if r is None or r["text"] is None:
                results.append(Generation(text=None, model=self.model, error="vllm: no output"))
                continue
            usage = {
                "prompt_tokens": r["prompt_tokens"],
                "completion_tokens": r["completion_tokens"],
            }
            results.append(Generation(text=r["text"], usage=usage, model=self.model))
        return results
