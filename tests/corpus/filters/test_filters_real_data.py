"""On real data: C4 (already cleaned by C4's rules) should lose almost nothing to our
C4-style rules, raw Common Crawl far more. Run with -s to see the numbers."""

from __future__ import annotations

import collections
import gzip
import json

import pytest

from corpus.filters.config import FilterConfig
from corpus.filters.quality import FAMILIES, QualityRules
from corpus.filters.stage import FilterStage

pytestmark = pytest.mark.shared


def read_texts(path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def c4_only() -> FilterConfig:
    cfg = FilterConfig()
    for name in FAMILIES:
        getattr(cfg, name).enabled = name == "c4"
    return cfg


def dropped_share(texts: list[str], cfg: FilterConfig) -> tuple[float, collections.Counter]:
    rules = QualityRules(cfg)
    reasons = collections.Counter(rules.assess(t).reason for t in texts)
    return 1 - reasons[None] / len(texts), reasons


def test_c4_rules_keep_c4_and_drop_raw_cc(shared_data):
    c4_texts = read_texts(shared_data / "web" / "c4-en-sample.jsonl.gz")
    cc_texts = [
        t for t in read_texts(shared_data / "web" / "cc-main-2019-30-sample.jsonl.gz") if t.strip()
    ]
    c4_share, c4_reasons = dropped_share(c4_texts, c4_only())
    cc_share, cc_reasons = dropped_share(cc_texts, c4_only())
    print(f"\nC4-style rules drop {c4_share:.1%} of {len(c4_texts)} C4 docs: {dict(c4_reasons)}")
    print(
        f"C4-style rules drop {cc_share:.1%} of {len(cc_texts)} non-empty CC docs: {dict(cc_reasons)}"
    )
    assert len(c4_texts) == 800 and len(cc_texts) > 400
    assert c4_share < 0.02
    assert cc_share > 0.25
    assert cc_share > 10 * max(c4_share, 0.001)


def test_full_stage_on_both_samples(shared_data):
    stage = FilterStage()
    stage.setup()
    shares = {}
    for name in ("c4-en-sample", "cc-main-2019-30-sample"):
        texts = read_texts(shared_data / "web" / f"{name}.jsonl.gz")
        batch = stage.process({"id": list(range(len(texts))), "text": texts})
        stages = collections.Counter(batch["drop_stage"])
        shares[name] = 1 - stages[None] / len(texts)
        print(f"\n{name}: {len(texts)} docs, drop_stage counts {dict(stages)}")
        print("  top reasons:", collections.Counter(batch["drop_reason"]).most_common(8))
        assert all(
            h is not None
            for h, r in zip(batch["text_hash"], batch["drop_reason"], strict=True)
            if r is None
        )
    assert shares["c4-en-sample"] < 0.35  # C4 was filtered by other rules, not Gopher's
    assert shares["cc-main-2019-30-sample"] > 0.6  # mostly non-English or boilerplate
