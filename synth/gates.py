"""Gates for generated text: the synth-specific checks run before a generation is written.

Order, and why: cleanup first (everything after judges the cleaned text), then the
cheap length bounds, then decontamination (a leaked benchmark item must never be
kept, whatever its quality), then near-duplicates among generations (LSH on MinHash
signatures from ``corpus.dedup``, verified by true Jaccard), then the edu score and
token count of what is left. Code exercises are run against their own tests
(``synth.exec``, sandboxed) after the near-dup gate: only ``passed`` ones are kept
unless ``keep_failed_exec``. Each generation gets one ``GateDecision``; the first
failing gate gives ``drop_reason`` (``too-short``, ``too-long``,
``contaminated:<bench>``, ``near-dup:<prompt_id>``, ``exec:<status>``, ``low-edu``,
``empty``).
Generations that pass still go through the main pipeline's gates like web text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from corpus.decontam import BenchmarkIndex
from corpus.decontam_config import DecontamConfig
from corpus.dedup.lsh import band_hashes
from corpus.dedup.minhash import signatures
from corpus.dedup.shingles import jaccard, shingle_hashes
from synth.config import GateConfig

Scorer = Callable[[list[str]], np.ndarray]

# "Sure! Here is a textbook section about X:" / "Certainly, here's ..." / "Okay, ..." lines.
_PREAMBLE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|absolutely|okay|ok|great|alright)\b[^\n]*"
    r"|here(?:'s| is| are)\b[^\n]*:|as an ai\b[^\n]*)\s*\n+",
    re.I,
)
# Trailing offers and sign-offs chat models append.
_OUTRO = re.compile(
    r"\n+\s*(?:i hope (?:this|that) helps|let me know if|feel free to|do you want me to|"
    r"would you like me to)[^\n]*\s*$",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?:)\]\"'`»”’]\s*$")
_CODE_FENCE = re.compile(r"^```[\w+-]*\s*\n(.*?)\n```\s*$", re.S)


def clean_generation(text: str, fmt: str | None = None) -> str:
    """Strip chat preambles/outros and a truncated last sentence; unwrap one code fence.

    Code exercises keep their last line even without a full stop (code has none) but
    lose a fence around the whole answer, so the stored document is plain Python.
    """
    t = (text or "").strip()
    for _ in range(2):  # "Sure!\n\nHere is the section:\n\n..."
        t = _PREAMBLE.sub("", t, count=1).lstrip()
    t = _OUTRO.sub("", t).rstrip()
    if fmt == "code_exercise":
        m = _CODE_FENCE.match(t)
        return (m.group(1) if m else t).strip()
    if t.count("```") % 2 == 1:  # cut inside an unterminated code block
        t = t[: t.rfind("```")].rstrip()
    if t and not _SENTENCE_END.search(t):
        # Cut at the last sentence end; keep the text whole if there is none at all.
        ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)|\n\n", t)]
        if ends and ends[-1] > len(t) // 2:
            t = t[: ends[-1]].rstrip()
    return t


@dataclass
class GateDecision:
    text: str  # the cleaned text
    kept: bool = True
    drop_reason: str | None = None
    n_words: int = 0
    n_tokens: int | None = None
    edu_score: float | None = None
    decontam: list[str] = field(default_factory=list)  # benchmark/item/kind of every hit
    near_dup_of: str | None = None
    exec_status: str | None = None  # code exercises only (synth.exec.STATUSES)
    exec_detail: str | None = None

    def drop(self, reason: str) -> None:
        if self.kept:
            self.kept, self.drop_reason = False, reason


class NearDupIndex:
    """Incremental MinHash-LSH over kept generations (and optional reference corpus texts).

    Candidates share an LSH band (the dedup module's signatures and banding); each is
    verified by true shingle Jaccard, so a verdict is never an LSH false positive.
    Because of that check the banding can be loose: 20 bands x 5 rows make pairs at
    Jaccard 0.8 candidates with probability 0.9996 (FineWeb's 14 x 8: ~0.92).
    """

    def __init__(
        self, threshold: float = 0.8, ngram: int = 5, bands: int = 20, rows: int = 5, seed: int = 1
    ):
        self.threshold, self.ngram, self.bands, self.rows, self.seed = (
            threshold,
            ngram,
            bands,
            rows,
            seed,
        )
        self._buckets: list[dict[int, list[int]]] = [{} for _ in range(bands)]
        self._shingles: list[np.ndarray] = []
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    def _sketch(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        sh, off = shingle_hashes(list(texts), self.ngram)
        sigs = signatures(sh, off, num_perm=self.bands * self.rows, seed=self.seed)
        sets = [np.unique(sh[off[i] : off[i + 1]]) for i in range(len(texts))]
        return band_hashes(sigs, self.bands, self.rows), sets

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        bands, sets = self._sketch(texts)
        for doc_id, b, s in zip(ids, bands, sets, strict=True):
            self._insert(doc_id, b, s)

    def _insert(self, doc_id: str, bands: np.ndarray, shingles: np.ndarray) -> None:
        idx = len(self._ids)
        self._ids.append(doc_id)
        self._shingles.append(shingles)
        for k, h in enumerate(bands.tolist()):
            self._buckets[k].setdefault(h, []).append(idx)

    def check_and_add(self, ids: Sequence[str], texts: Sequence[str]) -> list[str | None]:
        """For each text in order: the id of an earlier near-duplicate, else None (and it is added)."""
        bands, sets = self._sketch(texts)
        out: list[str | None] = []
        for doc_id, b, s in zip(ids, bands, sets, strict=True):
            cands = {i for k, h in enumerate(b.tolist()) for i in self._buckets[k].get(h, ())}
            dup = next(
                (
                    self._ids[i]
                    for i in sorted(cands)
                    if jaccard(s, self._shingles[i]) >= self.threshold
                ),
                None,
            )
            out.append(dup)
            if dup is None and len(s):
                self._insert(doc_id, b, s)
        return out


class Gates:
    """Applies the gates to a chunk of generations; keeps near-dup state across chunks."""

    def __init__(
        self,
        cfg: GateConfig,
        decontam: DecontamConfig | None = None,
        scorer: Scorer | None = None,
        index: BenchmarkIndex | None = None,
    ) -> None:
        self.cfg = cfg
        self.decontam_cfg = decontam
        self.index = index
        if self.index is None and decontam is not None and decontam.active:
            self.index = BenchmarkIndex.from_config(decontam)
        self.near_dups = NearDupIndex(threshold=cfg.near_dup_threshold)
        self._scorer = scorer
        self._tokenizer = None

    def scorer(self) -> Scorer | None:
        if self._scorer is None and self.cfg.edu_score:
            from classifiers.model import load_edu_model

            try:
                model = load_edu_model(self.cfg.edu_model)
            except FileNotFoundError as exc:
                raise FileNotFoundError(
                    f"edu model not found ({exc.filename or exc}): train it with `make train-edu`, "
                    "point synth.gates.edu_model at one, or skip scoring with --no-edu"
                ) from exc
            self._scorer = lambda texts: np.asarray(model.predict(texts), dtype=float)
        return self._scorer

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self._tokenizer is None:
            from corpus.tokens import Tokenizer

            self._tokenizer = Tokenizer(self.cfg.tokenizer)
        return self._tokenizer.count(texts)

    def apply(
        self, ids: Sequence[str], texts: Sequence[str | None], formats: Sequence[str | None]
    ) -> list[GateDecision]:
        decisions = []
        for raw, fmt in zip(texts, formats, strict=True):
            d = GateDecision(text=clean_generation(raw or "", fmt))
            d.n_words = len(d.text.split())
            if not d.text:
                d.drop("empty")
            elif d.n_words < self.cfg.min_words:
                d.drop("too-short")
            elif d.n_words > self.cfg.max_words:
                d.drop("too-long")
            decisions.append(d)
        if self.index is not None:
            for d in decisions:
                if d.kept:
                    hits = self.index.check(d.text)
                    d.decontam = [f"{h.benchmark}/{h.item}/{h.kind}" for h in hits[:10]]
                    if hits:
                        d.drop(f"contaminated:{hits[0].benchmark}")
        self._code_decontam(decisions, formats)
        alive = [i for i, d in enumerate(decisions) if d.kept]
        dups = self.near_dups.check_and_add(
            [ids[i] for i in alive], [decisions[i].text for i in alive]
        )
        for i, dup in zip(alive, dups, strict=True):
            if dup is not None:
                decisions[i].near_dup_of = dup
                decisions[i].drop(f"near-dup:{dup}")
        self._execute(decisions, formats)
        alive = [i for i, d in enumerate(decisions) if d.kept]
        scorer = self.scorer()
        if alive and scorer is not None:
            scores = scorer([decisions[i].text for i in alive])
            for i, s in zip(alive, scores, strict=True):
                decisions[i].edu_score = round(float(s), 4)
                if self.cfg.min_edu_score is not None and s < self.cfg.min_edu_score:
                    decisions[i].drop("low-edu")
        scored = [i for i, d in enumerate(decisions) if d.text]
        for i, n in zip(
            scored, self.count_tokens([decisions[i].text for i in scored]), strict=True
        ):
            decisions[i].n_tokens = n
        return decisions

    def _code_decontam(self, decisions: list[GateDecision], formats: Sequence[str | None]) -> None:
        """Code exercises against HumanEval/MBPP by AST and docstring (Phi-1's pruning)."""
        cfg = self.decontam_cfg
        sets = {"humaneval", "mbpp"} & set(cfg.builtin) if cfg is not None else set()
        if cfg is None or not cfg.active or not cfg.code.enabled or not sets:
            return
        from corpus.decontam_code import check_code_batch
        from synth.exec import extract_code

        todo = [
            i
            for i, (d, f) in enumerate(zip(decisions, formats, strict=True))
            if d.kept and f == "code_exercise"
        ]
        found = check_code_batch([extract_code(decisions[i].text) for i in todo], cfg.code)
        for i, hits in zip(todo, found, strict=True):
            hits = [h for h in hits if h.benchmark in sets]
            if hits:
                decisions[i].decontam += [f"{h.benchmark}/{h.item}/{h.kind}" for h in hits[:10]]
                decisions[i].drop(f"contaminated:{hits[0].benchmark}")

    def _execute(self, decisions: list[GateDecision], formats: Sequence[str | None]) -> None:
        if not self.cfg.execute:
            return
        from synth.exec import run_exercises

        todo = [
            i
            for i, (d, f) in enumerate(zip(decisions, formats, strict=True))
            if d.kept and f == "code_exercise"
        ]
        results = run_exercises(
            [decisions[i].text for i in todo],
            workers=self.cfg.exec_workers,
            timeout_s=self.cfg.exec_timeout_s,
            cpu_s=self.cfg.exec_cpu_s,
            memory_mb=self.cfg.exec_memory_mb,
        )
        for i, r in zip(todo, results, strict=True):
            decisions[i].exec_status, decisions[i].exec_detail = r.status, r.detail or None
            if r.status != "passed" and not self.cfg.keep_failed_exec:
                decisions[i].drop(f"exec:{r.status}")
