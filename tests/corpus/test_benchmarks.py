"""Decontamination on by default: the benchmark sets shipped in the package."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from corpus import benchmarks
from corpus.decontam import BenchmarkIndex
from corpus.decontam_config import DecontamConfig
from pipelines.config import PipelineConfig
from pipelines.ingest import ingest_shard
from pipelines.layout import Layout, shard_key

INTRO = (
    "Homework help forum. Here is a question from my worksheet that I solved last night, "
    "and I would like someone to check my working before the class on Monday morning.\n\n"
)
OUTRO = (
    "\n\nThanks to everyone who replied. The explanation was very useful for me and for "
    "my classmates, and our teacher said the method is the one she expects us to use."
)
FILLER = INTRO + OUTRO


def test_listing_names_every_shipped_set_with_its_licence():
    listing = {e["name"]: e for e in benchmarks.listing()}
    assert set(listing) == set(benchmarks.SETS) == {"gsm8k", "humaneval", "mbpp"}
    assert listing["gsm8k"]["items"] == 1319 and listing["gsm8k"]["licence"] == "MIT"
    assert listing["humaneval"]["items"] == 164 and listing["humaneval"]["licence"] == "MIT"
    assert listing["mbpp"]["items"] == 974 and listing["mbpp"]["licence"] == "CC BY 4.0"
    for name, entry in listing.items():
        texts = list(benchmarks.iter_texts(name))
        assert len(texts) == entry["texts"]
        assert len({item for item, _, _ in texts}) == entry["items"]


def test_default_config_checks_the_shipped_sets():
    cfg = PipelineConfig().decontam
    assert cfg.active and cfg.builtin == ["gsm8k", "humaneval", "mbpp"]
    assert not DecontamConfig(builtin=[]).active
    index = BenchmarkIndex.from_config(cfg)
    assert {i.benchmark for i in index.items} == {"gsm8k", "humaneval", "mbpp"}


def _ingest(tmp_path: Path, texts: list[str], config: PipelineConfig) -> dict[str, tuple]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "web.jsonl"
    src.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    layout = Layout(tmp_path / "out")
    ingest_shard(src, layout, config)
    import pyarrow.parquet as pq

    table = pq.read_table(layout.docs_dir(shard_key(src))).to_pylist()
    return {r["id"]: (r["drop_stage"], r["drop_reason"]) for r in table}


def test_shipped_gsm8k_item_in_a_web_page_is_dropped_by_default(tmp_path):
    """Without ../shared: an item rebuilt from the shipped (normalised) text."""
    item, _, words = next(t for t in benchmarks.iter_texts("gsm8k") if t[1] == "question")
    page = INTRO + words.capitalize() + "?" + OUTRO
    out = _ingest(tmp_path, [page, FILLER], PipelineConfig())
    assert out["d0"] == ("decontam", "contaminated:gsm8k")
    assert out["d1"] == (None, None)


def test_planted_verbatim_gsm8k_test_item_is_dropped_by_default(tmp_path, shared_data):
    rows = [json.loads(line) for line in (shared_data / "benchmarks" / "gsm8k_test.jsonl").open()]
    item = rows[5]
    page = INTRO + item["question"] + "\n\n" + item["answer"] + OUTRO
    out = _ingest(tmp_path, [page], PipelineConfig())
    assert out["d0"] == ("decontam", "contaminated:gsm8k")
    off = PipelineConfig.model_validate({"decontam": {"enabled": False}})
    assert _ingest(tmp_path / "off", [page], off)["d0"][0] != "decontam"


def test_shipped_form_indexes_exactly_what_the_original_files_give(shared_data):
    shipped = BenchmarkIndex.from_config(DecontamConfig())
    original = BenchmarkIndex.from_config(
        DecontamConfig(builtin=[], benchmarks=[str(shared_data / "benchmarks")])
    )
    assert np.array_equal(shipped.exact_h, original.exact_h)
    assert np.array_equal(shipped.fuzzy_h, original.fuzzy_h)
    assert sorted((i.benchmark, i.item, i.field) for i in shipped.items) == sorted(
        (i.benchmark, i.item, i.field) for i in original.items
    )


def test_no_false_positives_on_the_shared_web_samples(shared_data):
    """All 1,247 documents of the two web samples: none contains a shipped item."""
    index = BenchmarkIndex.from_config(DecontamConfig())
    texts = []
    for path in sorted((shared_data / "web").glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            texts += [json.loads(line)["text"] for line in f]
    assert len(texts) == 1247
    hits = [h for hs in index.check_batch(texts) for h in hs]
    assert hits == []
