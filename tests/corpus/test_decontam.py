"""Benchmark decontamination: exact 13-grams, fuzzy 8-gram share, and the stage."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest

from corpus.decontam import (
    BenchmarkIndex,
    DecontamStage,
    benchmark_name,
    detect_fields,
    hash_words,
    masked,
    ngram_hashes,
    normalize_words,
)
from synth.config import DecontamConfig

QUESTION = (
    "A baker makes 48 muffins each morning and sells three quarters of them before noon. "
    "She gives 5 of the remaining muffins to her neighbours. How many muffins are left?"
)
CODE = (
    "def running_mean(values: list[float]) -> list[float]:\n"
    '    """Return the running mean of the values, one entry per prefix of the list."""\n'
    "    total = 0.0\n    out = []\n    for i, v in enumerate(values):\n"
    "        total += v\n        out.append(total / (i + 1))\n    return out\n"
)
FILLER = (
    "The museum reopened after renovation with a new wing devoted to maritime history, "
    "and visitors praised the lighting, the maps and the rebuilt fishing boat in the hall. "
)


@pytest.fixture()
def bench_dir(tmp_path):
    d = tmp_path / "benchmarks"
    d.mkdir()
    (d / "toymath_test.jsonl").write_text(
        json.dumps(
            {"question": QUESTION, "answer": "48 * 3/4 = 36 sold, 12 left, 12 - 5 = 7. #### 7"}
        )
        + "\n"
    )
    with gzip.open(d / "ToyCode.jsonl.gz", "wt") as f:
        f.write(
            json.dumps({"task_id": "ToyCode/0", "prompt": CODE, "entry_point": "running_mean"})
            + "\n"
        )
    return d


def test_normalisation_ignores_case_punctuation_and_layout():
    assert normalize_words("Hello,  WORLD!\n\tdef f(x):") == ["hello", "world", "def", "f", "x"]


def test_hashed_words_are_the_normalised_words_with_numbers_maskable():
    text = "Ｆｕｌｌ－ｗｉｄｔｈ ﬁle №5 x² İstanbul 12 ١٢٣ 3.14"
    words = hash_words([text, "full width file no5 x2 i̇stanbul"])
    assert words.length.tolist()[:11] == [len(w) for w in normalize_words(text)]
    assert words.hashes[:7].tolist() == words.hashes[11:].tolist()  # NFKC: the same words
    numbers = masked(words)[7:11]  # 12, ١٢٣, 3 and 14 (of 3.14): one token
    assert len(set(numbers.tolist())) == 1 and numbers[0] not in words.hashes


def test_ngram_hashes_match_windows():
    wh = hash_words(["a b c d a b c"]).hashes
    h = ngram_hashes(wh, 3)
    assert len(h) == 5 and h[0] == h[4] and len(set(h.tolist())) == 4
    assert len(ngram_hashes(wh[:2], 3)) == 1  # short text: one whole-text hash


def test_names_and_fields_are_detected(bench_dir):
    assert benchmark_name("gsm8k_test.jsonl") == "gsm8k"
    assert benchmark_name("HumanEval.jsonl.gz") == "humaneval"
    recs = [{"task_id": "x/1", "prompt": CODE, "entry_point": "f", "n": 3}]
    assert detect_fields(recs) == ["prompt"]


def test_verbatim_and_reformatted_copies_are_exact_hits(bench_dir):
    index = BenchmarkIndex.from_config(DecontamConfig(benchmarks=[str(bench_dir)]))
    doc = FILLER + QUESTION.upper().replace(" ", "  ") + " " + FILLER
    hits = index.check(doc)
    assert hits and hits[0].benchmark == "toymath" and hits[0].kind == "exact"
    code_doc = FILLER + CODE.replace("\n", " ") + FILLER
    assert index.contaminated_by(code_doc) == "toycode"
    assert index.check(FILLER * 5) == []


def test_light_edits_are_caught_by_the_fuzzy_check(bench_dir):
    index = BenchmarkIndex.from_config(DecontamConfig(benchmarks=[str(bench_dir)]))
    # Two changed numbers and one changed word break every 13-gram; most 8-grams
    # survive once numbers are masked.
    edited = (
        QUESTION.replace("48", "60")
        .replace("5 of", "7 of")
        .replace("each morning", "every morning")
    )
    q13 = set(ngram_hashes(hash_words([QUESTION]).hashes, 13).tolist())
    assert not q13 & set(ngram_hashes(hash_words([edited]).hashes, 13).tolist())
    hits = index.check(FILLER + edited + FILLER)
    assert [(h.benchmark, h.kind) for h in hits] == [("toymath", "fuzzy")]
    assert 0.5 <= hits[0].score < 1


def test_low_information_ngrams_are_not_indexed():
    index = BenchmarkIndex()
    index.add_text("b", "0", "assert f([1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]) == 3")
    index.build()
    assert index.check("Pages 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 next") == []


def test_stage_marks_drops_and_skips_dead_rows(bench_dir):
    stage = DecontamStage(DecontamConfig(benchmarks=[str(bench_dir)]))
    stage.setup()
    batch = {
        "id": ["a", "b", "c"],
        "text": [FILLER + QUESTION, FILLER, QUESTION],
        "drop_stage": [None, None, "lang"],
        "drop_reason": [None, None, "lang:fr"],
    }
    out = stage(batch)
    assert out["drop_reason"] == ["contaminated:toymath", None, "lang:fr"]
    assert out["drop_stage"][0] == "decontam"
    assert json.loads(out["decontam_hits"][0])[0].startswith("toymath/0/")
    assert out["decontam_hits"][1:] == [None, None]


def test_missing_benchmark_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        BenchmarkIndex.from_config(DecontamConfig(benchmarks=[str(tmp_path / "nope.jsonl")]))


def test_real_benchmarks_recall_and_no_false_positives(shared_data):
    cfg = DecontamConfig(benchmarks=[str(shared_data / "benchmarks")])
    index = BenchmarkIndex.from_config(cfg)
    assert {i.benchmark for i in index.items} == {"humaneval", "gsm8k", "mbpp"}
    rng = random.Random(0)
    gsm = [json.loads(line) for line in (shared_data / "benchmarks" / "gsm8k_test.jsonl").open()]
    for rec in rng.sample(gsm, 20):
        assert index.contaminated_by(FILLER + rec["question"] + " " + FILLER) == "gsm8k"
    with gzip.open(shared_data / "web" / "c4-en-sample.jsonl.gz", "rt") as f:
        web = [json.loads(line)["text"] for line in f]
    flagged = sum(bool(index.check(t)) for t in web[:300])
    assert flagged <= 3
    assert np.all(np.diff(index.exact_h.astype(np.float64)) >= 0)


def test_batch_check_equals_one_by_one(bench_dir):
    index = BenchmarkIndex.from_config(DecontamConfig(benchmarks=[str(bench_dir)]))
    edited = QUESTION.replace("48", "60").replace("each morning", "every morning")
    texts = [
        FILLER,
        FILLER + QUESTION,
        "",
        "muffins",
        FILLER + edited,
        CODE,
        FILLER * 3 + CODE,
        QUESTION[:60],
    ]
    as_tuples = lambda hits: [(h.benchmark, h.item, h.kind, round(h.score, 6)) for h in hits]  # noqa: E731
    batch = index.check_batch(texts)
    assert [as_tuples(h) for h in batch] == [as_tuples(index.check(t)) for t in texts]
    assert sum(bool(h) for h in batch) == 4
