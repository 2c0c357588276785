"""Benchmark decontamination: does a document contain a test item?

Two checks over normalised words (NFKC, lower case, ``\\w+`` tokens, so
punctuation, whitespace and code formatting do not hide a copy):

- exact: any ``ngram``-word window (13, as in GPT-3's decontamination) shared with a
  benchmark text. Catches verbatim copies and any long copied stretch.
- fuzzy: the share of a benchmark text's ``fuzzy_ngram``-grams (8), with numbers
  masked, that the document contains. Light edits (changed numbers, a reworded
  clause) break the 13-grams but leave most number-masked 8-grams intact.

The benchmark n-grams are hashed once into sorted ``uint64`` arrays, so checking a
document is a vectorised hash of its n-grams plus a ``searchsorted``; per-item
counting happens only for the rare documents that hit anything.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from corpus.decontam_config import DecontamConfig
from corpus.stage import Batch, Resources, Stage, alive, mark_dropped
from corpus.words import Words
from corpus.words import hash_words as _hash_words

_WORD = re.compile(r"\w+")
_MULT = np.uint64(0x9E3779B97F4A7C15)
_BITS = 24
_SHIFT = np.uint64(64 - _BITS)  # odd 64-bit constant: polynomial rolling hash base
# Fields that name or wire an item rather than state it; never indexed.
_SKIP_FIELDS = frozenset({"id", "task_id", "entry_point", "test_setup_code", "source_file"})


def normalize_words(text: str) -> list[str]:
    """The words decontamination compares (``hash_words`` finds the same ones, hashed)."""
    if not text.isascii():  # NFKC is a no-op on ASCII, and most text is ASCII
        text = unicodedata.normalize("NFKC", text)
    return _WORD.findall(text.lower())


_NUM_HASH = np.uint64(0x2545F4914F6CDD1D)  # the one token every number becomes


def hash_words(texts: Sequence[str]) -> Words:
    """``normalize_words`` of every text, hashed (``corpus.words``)."""
    return _hash_words(texts, nfkc=True)


def masked(w: Words) -> np.ndarray:
    """The word hashes with every number one token: changed numbers are the commonest
    light edit of a benchmark item (GSM8K-style perturbations)."""
    return np.where(w.digit, _NUM_HASH, w.hashes)


def ngram_hashes(wh: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-word window, from per-word hashes (wrapping uint64 arithmetic).

    A text shorter than ``n`` words yields one hash of the whole text, so short items
    can still match a document that contains them entirely.
    """
    if len(wh) == 0:
        return np.empty(0, dtype=np.uint64)
    n = min(n, len(wh))
    m = len(wh) - n + 1
    out = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            out = out * _MULT + wh[k : k + m]
    return out


def benchmark_name(path: str | Path) -> str:
    """``gsm8k_test.jsonl`` -> ``gsm8k``; ``HumanEval.jsonl.gz`` -> ``humaneval``."""
    return re.split(r"[._\-]", Path(path).name)[0].lower()


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    yield obj


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return None


def detect_fields(records: list[dict[str, Any]], min_mean_words: float = 5.0) -> list[str]:
    """Text fields of a benchmark: string (or list-of-string) fields averaging >= 5 words.

    Works for HumanEval (prompt, canonical_solution, test), GSM8K (question, answer)
    and MBPP (text, code, test_list) without a table of names.
    """
    sample = records[:200]
    keys = sorted({k for r in sample for k in r} - _SKIP_FIELDS)
    fields = []
    for key in keys:
        texts = [_as_text(r.get(key)) for r in sample]
        texts = [t for t in texts if t is not None]
        if texts and len(texts) >= 0.5 * len(sample):
            mean = sum(len(normalize_words(t)) for t in texts) / len(texts)
            if mean >= min_mean_words:
                fields.append(key)
    return fields


def benchmark_files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.name.endswith((".jsonl", ".jsonl.gz"))))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"benchmark file not found: {p}")
    return out


@dataclass(frozen=True)
class BenchItem:
    benchmark: str
    item: str  # task id or row number
    field: str


@dataclass
class Hit:
    benchmark: str
    item: str
    kind: str  # "exact" or "fuzzy"
    score: float  # exact: shared n-grams; fuzzy: share of the item's fuzzy n-grams


class BenchmarkIndex:
    """Hashed n-grams of benchmark texts; ``check(text)`` says what a document contains."""

    def __init__(
        self,
        ngram: int = 13,
        fuzzy_ngram: int = 8,
        fuzzy_threshold: float = 0.4,
        min_item_words: int = 8,
        min_alpha_share: float = 0.3,
    ) -> None:
        self.ngram = ngram
        self.min_alpha_share = min_alpha_share
        self.fuzzy_ngram = fuzzy_ngram
        self.fuzzy_threshold = fuzzy_threshold
        self.min_item_words = min_item_words
        self.items: list[BenchItem] = []
        self._exact: list[np.ndarray] = []
        self._exact_item: list[np.ndarray] = []
        self._fuzzy: list[np.ndarray] = []
        self._fuzzy_item: list[np.ndarray] = []
        self._built = False

    @classmethod
    def from_config(cls, cfg: DecontamConfig) -> BenchmarkIndex:
        index = cls(
            cfg.ngram, cfg.fuzzy_ngram, cfg.fuzzy_threshold, cfg.min_item_words, cfg.min_alpha_share
        )
        for name in cfg.builtin:
            index.add_builtin(name)
        for path in benchmark_files(cfg.benchmarks):
            index.add_file(path, fields=cfg.fields.get(benchmark_name(path)))
        return index.build()

    def add_builtin(self, name: str) -> int:
        """Index a set shipped in ``corpus/benchmarks`` (texts stored already normalised)."""
        from corpus.benchmarks import iter_texts

        return sum(self.add_text(name, item, words, field=f) for item, f, words in iter_texts(name))

    def add_file(
        self, path: str | Path, fields: list[str] | None = None, name: str | None = None
    ) -> int:
        """Index one JSONL(.gz) benchmark; returns how many texts were indexed."""
        path = Path(path)
        records = list(_iter_jsonl(path))
        fields = fields or detect_fields(records)
        if not fields:
            raise ValueError(f"{path}: no text fields found; give them in decontam.fields")
        name = name or benchmark_name(path)
        added = 0
        for row, rec in enumerate(records):
            item_id = str(rec.get("task_id", rec.get("id", row)))
            for f in fields:
                text = _as_text(rec.get(f))
                if text is not None:
                    added += self.add_text(name, item_id, text, field=f)
        return added

    def add_text(self, benchmark: str, item: str, text: str, field: str = "text") -> int:
        words = hash_words([text])
        if len(words.hashes) < self.min_item_words:
            return 0
        alpha = ((words.length > 1) & ~words.digit).astype(np.int64)  # a real word
        exact = np.unique(
            self._informative(ngram_hashes(words.hashes, self.ngram), alpha, self.ngram)
        )
        fuzzy = np.unique(
            self._informative(
                ngram_hashes(masked(words), self.fuzzy_ngram), alpha, self.fuzzy_ngram
            )
        )
        if len(exact) == 0 and len(fuzzy) == 0:
            return 0
        idx = len(self.items)
        self.items.append(BenchItem(benchmark, item, field))
        self._exact.append(exact)
        self._exact_item.append(np.full(len(exact), idx, dtype=np.int32))
        self._fuzzy.append(fuzzy)
        self._fuzzy_item.append(np.full(len(fuzzy), idx, dtype=np.int32))
        self._built = False
        return 1

    def _informative(self, hashes: np.ndarray, alpha: np.ndarray, n: int) -> np.ndarray:
        """Keep n-grams with enough real words (not numbers or single letters): runs like
        ``1 2 3 ... 13`` or ``a b c ... m`` in a
        test list also fill page-number bars on the web and would be false positives."""
        n = min(n, len(alpha))
        windows = np.convolve(alpha, np.ones(n, dtype=np.int64), mode="valid")
        return hashes[windows >= self.min_alpha_share * n]

    def build(self) -> BenchmarkIndex:
        def sort(hs: list[np.ndarray], its: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            h = np.concatenate(hs) if hs else np.empty(0, dtype=np.uint64)
            i = np.concatenate(its) if its else np.empty(0, dtype=np.int32)
            order = np.argsort(h, kind="stable")
            return h[order], i[order]

        self.exact_h, self.exact_i = sort(self._exact, self._exact_item)
        self.fuzzy_h, self.fuzzy_i = sort(self._fuzzy, self._fuzzy_item)
        self.fuzzy_size = np.array([len(f) for f in self._fuzzy], dtype=np.int64)
        # Prefilter bitmaps (2^24 bits each, 2 MB): the top 24 bits of every indexed
        # hash. A document n-gram whose bit is unset cannot match; ~2% of the rest do
        # the exact ``searchsorted``.
        self.exact_bits = np.zeros(1 << _BITS, dtype=bool)
        self.exact_bits[self.exact_h >> _SHIFT] = True
        self.fuzzy_bits = np.zeros(1 << _BITS, dtype=bool)
        self.fuzzy_bits[self.fuzzy_h >> _SHIFT] = True
        self._built = True
        return self

    @property
    def n_ngrams(self) -> int:
        return int(len(self.exact_h) + len(self.fuzzy_h)) if self._built else 0

    @staticmethod
    def _matched_items(sorted_h: np.ndarray, sorted_i: np.ndarray, doc: np.ndarray) -> np.ndarray:
        """Item index of every (benchmark n-gram, item) pair whose n-gram the document has."""
        if len(sorted_h) == 0 or len(doc) == 0:
            return np.empty(0, dtype=np.int32)
        doc = np.unique(doc)
        lo = np.searchsorted(sorted_h, doc, "left")
        hi = np.searchsorted(sorted_h, doc, "right")
        hit = hi > lo
        if not hit.any():
            return np.empty(0, dtype=np.int32)
        return np.concatenate([sorted_i[a:b] for a, b in zip(lo[hit], hi[hit], strict=True)])

    def check(self, text: str) -> list[Hit]:
        """Every benchmark text this document contains, exact hits first."""
        if not self._built:
            self.build()
        words = hash_words([text])
        wh = words.hashes
        if not len(wh):
            return []
        hits: list[Hit] = []
        seen: set[int] = set()
        if len(wh) >= min(self.ngram, self.min_item_words):
            items = self._matched_items(self.exact_h, self.exact_i, ngram_hashes(wh, self.ngram))
            for idx, count in zip(*np.unique(items, return_counts=True), strict=True):
                it = self.items[idx]
                hits.append(Hit(it.benchmark, it.item, "exact", float(count)))
                seen.add(int(idx))
        fuzzy = ngram_hashes(masked(words), self.fuzzy_ngram)
        items = self._matched_items(self.fuzzy_h, self.fuzzy_i, fuzzy)
        if len(items):
            idxs, counts = np.unique(items, return_counts=True)
            share = counts / self.fuzzy_size[idxs]
            for idx, s in zip(idxs, share, strict=True):
                if s >= self.fuzzy_threshold and int(idx) not in seen:
                    it = self.items[idx]
                    hits.append(Hit(it.benchmark, it.item, "fuzzy", float(s)))
        return hits

    def check_batch(self, texts: list[str]) -> list[list[Hit]]:
        """``check`` for many texts: one vectorised pass finds the (rare) texts that share
        any n-gram with a benchmark; only those get the per-item attribution of ``check``."""
        if not self._built:
            self.build()
        words = hash_words([t or "" for t in texts])
        starts = words.offsets
        lens = np.diff(starts)
        suspects = np.zeros(len(texts), dtype=bool)
        for n, table, bits, hashes in (
            (self.ngram, self.exact_h, self.exact_bits, words.hashes),
            (self.fuzzy_ngram, self.fuzzy_h, self.fuzzy_bits, masked(words)),
        ):
            grams = ngram_hashes(hashes, n) if len(hashes) >= n else np.empty(0, dtype=np.uint64)
            if len(grams) and len(table):
                maybe = np.flatnonzero(bits[grams >> _SHIFT])
                pos = np.minimum(np.searchsorted(table, grams[maybe]), len(table) - 1)
                hit_at = maybe[table[pos] == grams[maybe]]  # window start positions
                # A window belongs to the text it starts in (windows crossing into the
                # next text only cause an extra exact check, never a missed one).
                suspects[np.searchsorted(starts, hit_at, side="right") - 1] = True
        # Texts shorter than a window are matched as one whole-text hash: check them exactly.
        suspects |= (lens > 0) & (lens < self.ngram)
        return [self.check(texts[i]) if suspects[i] else [] for i in range(len(texts))]

    def contaminated_by(self, text: str) -> str | None:
        """Name of the first benchmark the text contains, or None."""
        hits = self.check(text)
        return hits[0].benchmark if hits else None


class DecontamStage(Stage):
    """Drops documents that contain benchmark items: ``drop_reason='contaminated:<benchmark>'``.

    Adds a ``decontam_hits`` column (JSON list of ``benchmark/item/kind``, or None) so the
    ledger can say which item leaked. Usable on web documents and on generations.
    """

    name: ClassVar[str] = "decontam"

    def __init__(self, cfg: DecontamConfig, index: BenchmarkIndex | None = None) -> None:
        self.cfg = cfg
        self.index = index
        self.resources = Resources(cpus=1.0, batch_size=512)

    def setup(self) -> None:
        if self.index is None:
            self.index = BenchmarkIndex.from_config(self.cfg)

    def process(self, batch: Batch) -> Batch:
        if self.index is None:
            self.setup()
        assert self.index is not None
        texts = batch["text"]
        hits_col: list[str | None] = [None] * len(texts)
        rows, reasons = [], []
        rows_alive = [i for i, ok in enumerate(alive(batch)) if ok] if self.cfg.enabled else []
        found = self.index.check_batch([texts[i] or "" for i in rows_alive])
        found = self._code_hits(batch, rows_alive, found)
        for i, hits in zip(rows_alive, found, strict=True):
            if hits:
                hits_col[i] = json.dumps([f"{h.benchmark}/{h.item}/{h.kind}" for h in hits[:10]])
                rows.append(i)
                reasons.append(f"contaminated:{hits[0].benchmark}")
        batch["decontam_hits"] = hits_col
        return mark_dropped(batch, rows, self.name, reasons)

    def _code_hits(self, batch: Batch, rows: list[int], found: list[list]) -> list[list]:
        """Add ``corpus.decontam_code`` hits (AST, docstring embedding) to code-profile rows
        of HumanEval/MBPP-checking runs; n-gram hits stay first."""
        profiles = batch.get("profile")
        code_sets = {"humaneval", "mbpp"} & set(self.cfg.builtin)
        if not profiles or not self.cfg.code.enabled or not code_sets:
            return found
        from corpus.decontam_code import check_code_batch

        idx = [k for k, i in enumerate(rows) if profiles[i] == "code"]
        if not idx:
            return found
        code = check_code_batch([batch["text"][rows[k]] or "" for k in idx], self.cfg.code)
        for k, hits in zip(idx, code, strict=True):
            seen = {(h.benchmark, h.item) for h in found[k]}
            found[k] = found[k] + [
                Hit(h.benchmark, h.item, h.kind, h.score)
                for h in hits
                if h.benchmark in code_sets and (h.benchmark, h.item) not in seen
            ]
        return found
