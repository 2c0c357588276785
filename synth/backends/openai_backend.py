"""The ``openai`` backend: any OpenAI-compatible server, through the shared chat client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from synth.backends.base import Generation, Messages
from synth.backends.openai_http import ChatClient
from synth.config import ChatEndpointConfig


class OpenAIBackend:
    name = "openai"

    def __init__(self, cfg: ChatEndpointConfig, cache_path: str | Path | None = None) -> None:
        if not cfg.model:
            raise ValueError("the openai backend needs a model name (synth.openai.model / --model)")
        self.model = cfg.model
        self.client = ChatClient(
            cfg.endpoint,
            cfg.model,
            params={
                "temperature": cfg.temperature,
                "top_p": cfg.top_p,
                "max_tokens": cfg.max_tokens,
            },
            api_key_env=cfg.api_key_env,
            concurrency=cfg.concurrency,
            timeout_s=cfg.timeout_s,
            max_retries=cfg.max_retries,
            backoff_base_s=cfg.backoff_base_s,
            backoff_max_s=cfg.backoff_max_s,
            cache_path=cache_path,
        )

    def generate(self, prompts: Sequence[Messages]) -> list[Generation]:
        return [
            Generation(
                text=r.text,
                usage=r.usage,
                model=r.model or self.model,
                error=r.error,
                cached=r.cached,
            )
            for r in self.client.complete(list(prompts))
        ]
