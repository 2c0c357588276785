"""vLLM on Ray, the engine synth's ``vllm`` backend runs on (injected, not imported).

``install()`` registers ``generate`` in ``synth.backends``' engine registry; the
``pipelines`` package calls it on import, so every primer entry point (``primer synth``,
``primer run`` with synthesis) has it, while synth itself never imports Ray.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synth.backends import register_engine


def generate(
    engine_config: dict[str, Any],
    rows: list[dict[str, Any]],
    preprocess: Callable[[dict[str, Any]], dict[str, Any]],
    postprocess: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Start (or join) Ray, then generate with vLLM engine replicas via ``ray.data.llm``."""
    from pipelines import ray_backend as rb  # lazy: importing pipelines stays light

    rb.init()
    return rb.llm_generate(engine_config, rows, preprocess=preprocess, postprocess=postprocess)


def install() -> None:
    register_engine("vllm", generate)
