"""Synthetic textbooks: topics -> prompt programs -> an LLM backend -> gates -> shards.

``synth.run.run_synth`` is the entry point (``primer synth`` wraps it); see
``synth.topics``, ``synth.prompts``, ``synth.backends`` and ``synth.gates``.
"""
