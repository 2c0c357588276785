"""Generation backends, and the registry of batch engines the caller injects.

synth does not import the layer above it (pipelines, which alone speaks Ray): a
backend that runs on an engine it cannot start itself, such as vLLM on Ray, looks
the engine up here, and ``pipelines`` registers it (``pipelines.vllm_engine``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = dict[str, Any]
# (engine_config, rows, preprocess, postprocess) -> output rows, in any order
EngineGenerate = Callable[
    [dict[str, Any], list[Row], Callable[[Row], Row], Callable[[Row], Row]], list[Row]
]

_ENGINES: dict[str, EngineGenerate] = {}


def register_engine(name: str, generate: EngineGenerate) -> None:
    """Make ``generate`` the batch engine backends ask for under ``name`` (last one wins)."""
    _ENGINES[name] = generate


def engine(name: str) -> EngineGenerate | None:
    """The registered engine, or None when no caller registered one."""
    return _ENGINES.get(name)
