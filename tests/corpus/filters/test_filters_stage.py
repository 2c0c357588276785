"""FilterStage: the columns it adds, the drops it marks, the text it edits."""

from __future__ import annotations

import pytest

from corpus.filters.config import FilterConfig
from corpus.filters.exact import exact_hash
from corpus.filters.stage import FilterStage, lang_reason
from corpus.stage import Stage
from tests.corpus.filters.filter_texts import GOOD_TEXT

GERMAN = (
    "Die Geschichte des Buchdrucks beginnt im fünfzehnten Jahrhundert in Mainz. "
    "Gutenberg verband eine Presse mit beweglichen Lettern aus Metall und einer neuen Tinte."
)


def make_batch(texts: list[str | None]) -> dict[str, list]:
    n = len(texts)
    return {
        "id": [f"d{i}" for i in range(n)],
        "text": list(texts),
        "url": [None] * n,
        "domain": [None] * n,
        "source_file": ["shard-0.jsonl"] * n,
        "position": list(range(n)),
        "metadata": ["{}"] * n,
        "drop_stage": [None] * n,
        "drop_reason": [None] * n,
    }


@pytest.fixture(scope="module")
def stage() -> FilterStage:
    s = FilterStage()
    s.setup()
    return s


def test_stage_shape():
    assert isinstance(FilterStage(), Stage)
    assert FilterStage.name == "filters"


def test_columns_and_drops(stage):
    nav = "Home | Shop | Contact\n"
    texts = [GOOD_TEXT, GERMAN, "", "   ", "Too short to keep, really.", nav + GOOD_TEXT, GOOD_TEXT]
    batch = make_batch(texts)
    batch["drop_stage"][6], batch["drop_reason"][6] = "read", "too-large"  # dropped earlier
    out = stage.process(batch)
    assert out["drop_reason"] == [
        None,
        "lang:de",
        "empty",
        "empty",
        "gopher_short_doc",
        None,
        "too-large",
    ]
    assert out["drop_stage"] == [None, "langid", "langid", "langid", "quality", None, "read"]
    assert out["lang"][:2] == ["en", "de"] and out["lang"][2] is None and out["lang"][6] is None
    assert 0.65 <= out["lang_score"][0] <= 1.0
    # every alive non-empty doc has every value; dropped-before and empty docs have none
    keys = set(out["quality"][0])
    assert {"gopher_words", "rep_dup_5_gram_frac", "c4_lines_removed", "fw_newline_ratio"} <= keys
    # not measured: another language (measure_other_languages), empty, dropped before
    assert out["quality"][1] is None and out["quality"][2] is None and out["quality"][6] is None
    # C4 removed the navigation line from the kept doc, and the hash is of the final text
    assert out["quality"][5]["c4_lines_removed"] == 1
    assert out["text"][5] == GOOD_TEXT
    assert out["text_hash"][0] == out["text_hash"][5] == exact_hash(GOOD_TEXT)
    assert [h is None for h in out["text_hash"]] == [False, True, True, True, True, False, True]
    assert all(len(col) == len(texts) for col in out.values())


def test_config_languages_and_score(stage):
    german_only = FilterStage(FilterConfig(languages=["de"]))
    german_only._lid = stage._lid  # share the loaded model
    out = german_only.process(make_batch([GOOD_TEXT, GERMAN]))
    assert out["drop_reason"][0] == "lang:en"
    assert out["drop_reason"][1] is not None  # German passes langid, fails English stop words
    assert out["drop_stage"][1] == "quality"

    strict = FilterStage(FilterConfig(min_lang_score=1.0))
    strict._lid = stage._lid
    out = strict.process(make_batch(["The cat. A dog. Some words here, and there."]))
    assert out["drop_reason"] == ["low_lang_score"]


def test_langid_drops_measured_in_a_kept_language_or_when_asked(stage):
    keys = set(stage.process(make_batch([GOOD_TEXT]))["quality"][0])
    every = FilterStage(FilterConfig(measure_other_languages=True))
    every._lid = stage._lid
    out = every.process(make_batch([GOOD_TEXT, GERMAN]))
    assert out["drop_reason"][1] == "lang:de" and set(out["quality"][1]) == keys
    # a low score in a kept language: measured by default (SQL may lower min_lang_score)
    strict = FilterStage(FilterConfig(min_lang_score=1.0))
    strict._lid = stage._lid
    out = strict.process(make_batch([GOOD_TEXT]))
    assert out["drop_reason"] == ["low_lang_score"] and set(out["quality"][0]) == keys


def test_measure_all_false_skips_langid_drops(stage):
    fast = FilterStage(FilterConfig(measure_all=False))
    fast._lid = stage._lid
    out = fast.process(make_batch([GOOD_TEXT, GERMAN]))
    assert out["quality"][0] is not None and out["quality"][1] is None


def test_langid_disabled_and_stage_disabled():
    cfg = FilterConfig()
    cfg.langid.enabled = False
    out = FilterStage(cfg).process(make_batch([GERMAN * 3, GOOD_TEXT]))
    assert out["lang"] == [None, None] and out["lang_score"] == [None, None]
    assert out["drop_stage"][0] == "quality"  # German fails Gopher's English stop words
    assert out["drop_reason"][1] is None

    off = FilterStage(FilterConfig(enabled=False)).process(make_batch(["x", GERMAN]))
    assert off["drop_reason"] == [None, None] and off["quality"] == [None, None]
    assert off["text_hash"] == [exact_hash("x"), exact_hash(GERMAN)]  # still hashed for dedup


def test_lang_reason():
    assert lang_reason("en", 0.9, ["en"], 0.65) is None
    assert lang_reason("fr", 0.9, ["en"], 0.65) == "lang:fr"
    assert lang_reason("en", 0.5, ["en"], 0.65) == "low_lang_score"
    assert lang_reason("fr", 0.9, [], 0.65) is None  # empty list keeps every language
    assert lang_reason(None, None, ["en"], 0.65) == "empty"


def test_duplicates_in_a_batch_share_a_hash(stage):
    variant = GOOD_TEXT.replace(",", " ;").replace("\n", "\n\n").replace("fifteenth", "FIFTEENTH")
    assert variant != GOOD_TEXT
    out = stage.process(make_batch([GOOD_TEXT, variant]))
    assert out["drop_reason"] == [None, None]
    assert out["text_hash"][0] == out["text_hash"][1]
