"""Code decontamination: AST statement sets and shapes, docstring embeddings, the stage hook."""

from __future__ import annotations

import gzip
import json

import pytest

from bench.code_decontam import literals, renamed, reordered
from corpus.decontam import DecontamStage
from corpus.decontam_code import (
    CodeDecontamConfig,
    CodeIndex,
    check_code,
    function_prints,
    load_index,
)
from corpus.decontam_config import DecontamConfig

SOLUTION = '''def running_stats(values):
    """Mean and variance of a list of measurements, computed in one pass."""
    count = 0
    mean = 0.0
    m2 = 0.0
    for x in values:
        count += 1
        delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
    variance = m2 / (count - 1) if count > 1 else 0.0
    return mean, variance
'''
OTHER = '''def word_lengths(text):
    """Length of every word of a text."""
    out = {}
    for word in text.split():
        out[word] = len(word.strip(".,;"))
    return out
'''


def index_of(code: str) -> CodeIndex:
    idx = CodeIndex(max_df=99)
    for f in function_prints(code):
        idx.add("bench", "item-1", f.statements, f.shape)
    return idx.build()


class NoEmbed:
    @staticmethod
    def encode(texts):
        raise AssertionError("embedding disabled")


def test_variants_keep_the_fingerprint_and_other_code_does_not_match():
    cfg = CodeDecontamConfig(embed=False)
    idx = index_of(SOLUTION)
    for variant in (renamed(SOLUTION), reordered(SOLUTION), literals(SOLUTION)):
        assert variant and variant != SOLUTION
        hits = check_code("import os\n\n" + variant, cfg, idx, NoEmbed)
        assert [(h.item, h.kind) for h in hits] == [("item-1", "ast")], variant
    assert check_code(OTHER, cfg, idx, NoEmbed) == []
    assert check_code("this is not python (", cfg, idx, NoEmbed) == []
    # a real change of algorithm (two passes) is not the same solution
    two_pass = "def f(v):\n    m = sum(v) / len(v)\n    return m, sum((x - m) ** 2 for x in v)\n"
    assert check_code(two_pass, cfg, idx, NoEmbed) == []


def test_shipped_index_has_no_code_text_and_loads():
    idx = load_index()
    assert len(idx.keys) > 1000 and idx.emb is not None and idx.emb.shape[1] == 384
    assert {b for b, _ in idx.keys} == {"humaneval", "mbpp"}


@pytest.mark.slow  # loads MiniLM (~10 s alone, a minute on a loaded machine)
def test_renamed_humaneval_solution_is_caught_and_names_its_item(shared_data):
    path = shared_data / "benchmarks" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as f:
        recs = [json.loads(line) for line in f]
    rec = next(r for r in recs if r["task_id"] == "HumanEval/0")
    variant = renamed(rec["prompt"] + rec["canonical_solution"])
    hits = check_code(variant, CodeDecontamConfig())
    assert ("humaneval", "HumanEval/0") in {(h.benchmark, h.item) for h in hits}
    assert {h.kind for h in hits} <= {"ast", "embed"}


@pytest.mark.slow
def test_stage_checks_code_rows_only(shared_data):
    path = shared_data / "benchmarks" / "mbpp.jsonl"
    rec = next(json.loads(line) for line in path.open() if '"task_id": 1,' in line)
    variant = renamed(rec["code"])
    stage = DecontamStage(DecontamConfig())

    def batch():
        return {
            "text": [variant, variant, OTHER],
            "profile": ["code", "web", "code"],
            "drop_stage": [None] * 3,
            "drop_reason": [None] * 3,
        }

    out = stage.process(batch())
    assert out["drop_reason"][0] == "contaminated:mbpp"
    assert json.loads(out["decontam_hits"][0])[0].startswith("mbpp/1/ast")
    assert out["drop_reason"][1] is None and out["drop_reason"][2] is None
    off = DecontamStage(DecontamConfig(code=CodeDecontamConfig(enabled=False)))
    assert off.process(batch())["drop_reason"][0] is None


def test_synth_gate_drops_a_renamed_benchmark_exercise(shared_data):
    from synth.config import GateConfig
    from synth.gates import Gates

    path = shared_data / "benchmarks" / "mbpp.jsonl"
    rec = next(json.loads(line) for line in path.open() if '"task_id": 1,' in line)
    cfg = DecontamConfig(code=CodeDecontamConfig(embed=False))
    gates = Gates(GateConfig(min_words=5, execute=False, edu_score=False), cfg)
    d = gates.apply(["x"], ["```python\n" + renamed(rec["code"]) + "\n```"], ["code_exercise"])
    assert d[0].drop_reason == "contaminated:mbpp" and d[0].decontam == ["mbpp/1/ast"]
