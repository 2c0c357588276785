"""Filter stage throughput: the whole stage against the sum of its parts, and raw fastText.

Corpus (reproducible, nothing stored): every document of
``../shared/data/web/c4-en-sample.jsonl.gz`` (800) and
``cc-main-2019-30-sample.jsonl.gz`` (447) is split into lines; each synthetic
document takes the lines of one source document drawn at random (seeded
``random.Random(seed)``, default seed 0) and appends 0-3 lines drawn from other
documents of the same sample; 2% of documents are copies of an earlier one with
case and whitespace changed (the exact-dedup hash must collide on them). Default
20,000 documents, about 60% C4-like and 40% raw CC (multilingual, boilerplate).

    nice .venv/bin/python -m bench filters                 # 20,000 docs
    nice .venv/bin/python -m bench filters --docs 5000     # quicker look

Timed in one process on the same texts, after a warm-up, as CPU time of this process
(``time.process_time``: everything here is single-threaded, and CPU time is far less
disturbed than wall time by other jobs on a shared machine), best of ``--rounds``
(default 3) round-robin passes:
the stage (``FilterStage.process`` in batches of 512), then its parts alone:
language ID (``LanguageIdentifier.predict``: normalisation + fastText), raw fastText
``model.predict`` on the already-normalised lines, building the shared splits
(``TextView``), each rule family's ``measure`` + verdict on prebuilt views, and the
exact hash. "Sum of parts" adds language ID, splits, families and hash; the issue's
goal is the stage within 25% of it. Writes ``bench/results/filters.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from corpus.filters import c4, fineweb, gopher_quality, gopher_repetition
from corpus.filters.config import FilterConfig
from corpus.filters.exact import exact_hash
from corpus.filters.langid import LanguageIdentifier, normalize_for_langid
from corpus.filters.rules import TextView, first_failure
from corpus.filters.stage import FilterStage

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / ".." / "shared" / "data" / "web"
RESULTS = ROOT / "bench" / "results" / "filters.json"
SAMPLES = ("c4-en-sample.jsonl.gz", "cc-main-2019-30-sample.jsonl.gz")
BATCH = 512


def build_corpus(n_docs: int, seed: int = 0, web: Path = WEB) -> list[str]:
    """The synthetic corpus described in the module docstring."""
    rng = random.Random(seed)
    pools: list[list[list[str]]] = []
    for name in SAMPLES:
        with gzip.open(web / name, "rt", encoding="utf-8") as f:
            docs = [json.loads(line)["text"] for line in f if line.strip()]
        pools.append([d.splitlines() for d in docs if d.strip()])
    weights = [len(p) for p in pools]
    out: list[str] = []
    for _ in range(n_docs):
        if out and rng.random() < 0.02:
            twin = rng.choice(out)
            out.append(" ".join(twin.split()).upper() if rng.random() < 0.5 else twin + "\n")
            continue
        pool = rng.choices(pools, weights)[0]
        lines = list(rng.choice(pool))
        for _ in range(rng.randint(0, 3)):
            donor = rng.choice(pool)
            if donor:
                lines.append(rng.choice(donor))
        out.append("\n".join(lines))
    return out


def timed(fn: Callable[[], object]) -> float:
    """CPU seconds of this process spent in ``fn``."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def _family_part(name: str, module, cfg: FilterConfig, views: list[TextView]) -> Callable[[], None]:
    section = getattr(cfg, name)
    checks = module.checks(section)

    def run() -> None:
        for view in views:
            values = module.measure(view, section)
            if name == "c4":
                values = values[0]
            first_failure(checks, values)

    return run


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench filters", description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=20_000, help="documents in the synthetic corpus")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3, help="keep each part's best of this many")
    args = ap.parse_args(argv)

    texts = build_corpus(args.docs, args.seed)
    n = len(texts)
    chars = sum(map(len, texts))
    cfg = FilterConfig()
    print(f"corpus: {n} docs, {chars / 1e6:.1f} M chars (mean {chars // n}), seed {args.seed}")

    stage = FilterStage(cfg)
    stage.setup()
    lid: LanguageIdentifier = stage._lid  # the stage's own loaded model
    warm = texts[:200]
    stage.process({"id": list(range(len(warm))), "text": list(warm)})

    def run_stage(config: FilterConfig) -> Callable[[], dict]:
        s = FilterStage(config)
        s._lid = lid
        result: dict = {}

        def go() -> None:
            reasons: Counter = Counter()
            for i in range(0, n, BATCH):
                chunk = texts[i : i + BATCH]
                b = s.process({"id": list(range(len(chunk))), "text": list(chunk)})
                reasons.update(b["drop_stage"])
            result["drop_stage"] = reasons

        go.result = result  # type: ignore[attr-defined]
        return go

    lines = [normalize_for_langid(t, cfg.langid.max_chars) for t in texts]
    lines = [x for x in lines if x]
    views = [TextView(t) for t in texts]
    modules = {
        "gopher_repetition": gopher_repetition,
        "gopher_quality": gopher_quality,
        "c4": c4,
        "fineweb": fineweb,
    }
    full = run_stage(cfg)
    jobs: dict[str, Callable[[], object]] = {
        "stage": full,
        "stage (measure_all=false)": run_stage(FilterConfig(measure_all=False)),
        "langid (normalise + fastText)": lambda: lid.predict(texts),
        "raw fastText predict": lambda: lid.model.predict(lines, k=1),
        "splits (TextView)": lambda: [TextView(t) for t in texts],
        **{name: _family_part(name, m, cfg, views) for name, m in modules.items()},
        "exact hash": lambda: [exact_hash(t) for t in texts],
    }
    timings = dict.fromkeys(jobs, float("inf"))
    for r in range(args.rounds):
        for key, job in jobs.items():
            timings[key] = min(timings[key], timed(job))
        print(f"round {r + 1}/{args.rounds}: stage {timings['stage']:.2f} s CPU", flush=True)

    parts = ["langid (normalise + fastText)", "splits (TextView)", *modules, "exact hash"]
    sum_parts = sum(timings[p] for p in parts)
    ratio = timings["stage"] / sum_parts

    print(
        f"\n{'part (best CPU time)':<32} {'seconds':>8} {'docs/s':>9}  {'x raw fastText time':>19}"
    )
    raw = timings["raw fastText predict"]
    for key, sec in [*timings.items(), ("sum of parts", sum_parts)]:
        print(f"{key:<32} {sec:>8.2f} {n / sec:>9.0f}  {sec / raw:>19.2f}")
    verdict = "within" if ratio <= 1.25 else "OUTSIDE"
    print(f"\nstage / sum of parts = {ratio:.2f} ({verdict} the 25% goal)")
    drops = full.result["drop_stage"]  # type: ignore[attr-defined]
    print("stage drop_stage counts:", dict(drops))

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "corpus": {"docs": n, "chars": chars, "seed": args.seed, "built_from": list(SAMPLES)},
        "timing": f"CPU seconds (time.process_time), best of {args.rounds} rounds",
        "seconds": timings,
        "docs_per_s": {k: n / v for k, v in timings.items()},
        "sum_of_parts_s": sum_parts,
        "stage_over_sum_of_parts": ratio,
        "drop_stage": {str(k): v for k, v in drops.items()},
        "machine": platform.platform(),
        "command": "nice .venv/bin/python -m bench filters " + " ".join(argv or []),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
