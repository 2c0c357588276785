"""Orchestration: the only layer that knows Ray; wires corpus, classifiers and synth."""

from pipelines.vllm_engine import install as _install_vllm_engine

_install_vllm_engine()  # synth's vllm backend finds its Ray engine here (no upward import)
