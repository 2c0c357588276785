"""The one interface every generation backend has: ``generate(prompts) -> generations``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

Messages = list[dict[str, str]]


class BackendUnavailable(RuntimeError):
    """The backend's runtime (a GPU, vLLM, a server) is not there; the message says what to do."""


@dataclass
class Generation:
    text: str | None  # None when generation failed
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens
    model: str = ""
    error: str | None = None
    cached: bool = False


class Backend(Protocol):
    name: str  # "openai" | "vllm" | "local"
    model: str  # what is recorded in each document's metadata

    def generate(self, prompts: Sequence[Messages]) -> list[Generation]:
        """One Generation per prompt, in order. Failures are Generations with ``error``."""
        ...
