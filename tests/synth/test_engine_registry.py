"""synth's vllm backend gets its Ray engine injected by pipelines, never imported."""

from __future__ import annotations

import pytest

from synth import backends
from synth.backends.base import BackendUnavailable
from synth.backends.vllm_ray import VLLMBackend
from synth.config import VLLMConfig


def test_pipelines_registers_the_vllm_engine():
    import pipelines  # noqa: F401  (registers on import)
    from pipelines import vllm_engine

    assert backends.engine("vllm") is vllm_engine.generate


def test_vllm_backend_without_an_engine_says_how_to_get_one(monkeypatch):
    monkeypatch.setattr(backends, "_ENGINES", {})
    monkeypatch.setattr("synth.backends.vllm_ray.missing_runtime", lambda: None)
    with pytest.raises(BackendUnavailable, match="primer synth --backend vllm"):
        VLLMBackend(VLLMConfig()).generate([[{"role": "user", "content": "hi"}]])


def test_an_injected_engine_is_used_as_is(monkeypatch):
    monkeypatch.setattr("synth.backends.vllm_ray.missing_runtime", lambda: None)

    def engine(config, rows, preprocess, postprocess):
        return [postprocess({**preprocess(r), "generated_text": "x"}) for r in rows]

    gens = VLLMBackend(VLLMConfig(model_source="m"), generate=engine).generate(
        [[{"role": "user", "content": "a"}]]
    )
    assert [g.text for g in gens] == ["x"] and gens[0].model == "m"
