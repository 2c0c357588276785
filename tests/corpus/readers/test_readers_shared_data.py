"""The readers on the real shards in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpus.readers import expand_inputs, read_path
from corpus.readers.base import Record
from corpus.urls import domain

pytestmark = pytest.mark.shared


def records(path: Path) -> list[Record]:
    items = list(read_path(path))
    assert all(isinstance(i, Record) for i in items), [
        i for i in items if not isinstance(i, Record)
    ]
    return items


def test_c4_sample(shared_data: Path) -> None:
    docs = records(shared_data / "web" / "c4-en-sample.jsonl.gz")
    assert len(docs) == 800
    assert docs[0].id == "c4-0000" and domain(docs[0].url) == "kentlive.news"
    assert set(docs[0].metadata) == {"date"}
    assert len({d.id for d in docs}) == 800


def test_dolma_cc_sample(shared_data: Path) -> None:
    docs = records(shared_data / "web" / "cc-main-2019-30-sample.jsonl.gz")
    assert len(docs) == 447
    first = docs[0]
    assert first.id == "cc-0000" and domain(first.url) == "16thfleet.wikidot.com"
    assert first.metadata["source"] == "test_gz" and "warc_url" in first.metadata
    assert all(d.url for d in docs)


def test_cc_2020_34_excerpt_has_16_html_pages(shared_data: Path) -> None:
    docs = records(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    assert len(docs) == 16
    assert all(d.id.startswith("<urn:uuid:") and d.url.startswith("http") for d in docs)
    # gb2312 / windows-1251 pages decode to their scripts, not mojibake
    text = "\n".join(d.text for d in docs)
    assert "Стратегия пожарной безопасности" in text
    assert "广东省人民政府" in text


def test_whirlwind_in_three_formats(shared_data: Path) -> None:
    (page,) = records(shared_data / "warc" / "whirlwind.warc.gz")
    (wet,) = records(shared_data / "warc" / "whirlwind.warc.wet.gz")
    assert page.url == wet.url == "https://an.wikipedia.org/wiki/Escopete"
    assert wet.metadata["warc_refers_to"] == page.id
    assert "Escopete" in page.text and "Escopete" in wet.text
    # main-text extraction drops the menus the WET keeps
    assert "Menú principal" in wet.text and "Menú principal" not in page.text
    assert len(page.text) < len(wet.text)


def test_dolma_html_samples(shared_data: Path) -> None:
    counts = {
        p.name: len(records(p))
        for p in sorted((shared_data / "warc").glob("html-sample-*.warc.gz"))
    }
    assert counts == {"html-sample-0000.warc.gz": 22, "html-sample-0001.warc.gz": 15}


def test_expand_shared_tree(shared_data: Path) -> None:
    paths = expand_inputs([str(shared_data / "warc"), str(shared_data / "web" / "*.jsonl.gz")])
    names = [p.name for p in paths]
    assert "whirlwind.warc.wat.gz" not in names
    assert Counter(n.split(".", 1)[1] for n in names) == {
        "warc.gz": 4,
        "warc.wet.gz": 1,
        "jsonl.gz": 2,
    }
