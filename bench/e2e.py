"""End to end: primer's shared steps and full pipeline beside datatrove, on one input.

Input (``build_input``): ``--docs`` documents recombined from the shared C4 + CC samples
(``../shared/data/web``, 1,247 real pages), seeded. Each document takes a real page as its
template (so the C4/CC share and the language mix are the samples'), keeps each of its
lines with probability 1/2 and otherwise swaps in a line from another page of the same
source and language, and is redrawn until its text is new. Then 5% planted
near-duplicates (a copy of an earlier document with one word in a hundred replaced:
Jaccard of 5-gram shingles ~0.9) and 2% exact copies; shuffled and dealt into
``--workers`` ``.jsonl.gz`` files so datatrove can parallelise over files too. Cached
under ``$PRIMER_BENCH_CACHE`` (default: the system temp dir), never in the repository.

Systems, run alternating (a, b, c, a, b, c, ...) so a loaded machine hits each alike,
each as its own process tree (peak RSS sampled over it, ``bench/_rss.py``):
  a. ``primer run --until dedup`` (read, extract, langid, rules, decontam, PII,
     toxicity, exact + near dedup, write, index);
  b. datatrove: LanguageFilter, Gopher repetition + quality, C4, FineWeb, MinHash 5-gram
     14x8 in four stages, JsonlWriter; ``LocalPipelineExecutor``, ``--workers`` workers
     (``bench/_datatrove.py``);
  c. ``primer run`` (the full default pipeline: + edu classify), ``--full-set`` overrides.

``--stages N`` also times each per-document stage on the first N documents, in this
process (``--systems ''`` for that alone).
Writes ``bench/results/e2e.json``. ``python -m bench e2e --docs 20000 --repeats 3``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data" / "web"
SOURCES = {"c4": "c4-en-sample.jsonl.gz", "cc": "cc-main-2019-30-sample.jsonl.gz"}
RESULTS = Path(__file__).parent / "results"
NEAR_SHARE, EXACT_SHARE = 0.05, 0.02
BUILDER_VERSION = 1  # bump when the input recipe changes (invalidates the cache)


def load_pool(shared: Path = SHARED) -> list[dict]:
    """The sample pages: ``{source, lang, url, lines}`` (language by primer's fastText)."""
    from corpus.filters.langid import LanguageIdentifier

    pages = []
    for source, name in SOURCES.items():
        with gzip.open(shared / name, "rt") as f:
            for line in f:
                rec = json.loads(line)
                lines = [x for x in rec["text"].split("\n") if x.strip()]
                if lines:
                    url = rec.get("url") or (rec.get("metadata") or {}).get("url") or ""
                    pages.append({"source": source, "url": url, "lines": lines})
    langs = LanguageIdentifier().predict(["\n".join(p["lines"]) for p in pages])
    for page, (lang, _) in zip(pages, langs, strict=True):
        page["lang"] = lang or "und"
    return pages


def _near_copy(rng: np.random.Generator, text: str) -> str:
    """One word in a hundred (at least one) replaced by another word of the text."""
    words = text.split(" ")
    for p in rng.integers(0, len(words), size=max(1, len(words) // 100)).tolist():
        words[p] = words[int(rng.integers(len(words)))] + "x"
    return " ".join(words)


def build_docs(n: int, seed: int, pool: list[dict]) -> tuple[list[dict], dict]:
    """``n`` documents (id, text, url) and what was planted in them."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, str], list[str]] = {}
    for page in pool:
        groups.setdefault((page["source"], page["lang"]), []).extend(page["lines"])
    n_exact, n_near = round(n * EXACT_SHARE), round(n * NEAR_SHARE)
    n_base = n - n_exact - n_near
    docs: list[dict] = []
    seen: set[bytes] = set()
    while len(docs) < n_base:
        page = pool[int(rng.integers(len(pool)))]
        group = groups[(page["source"], page["lang"])]
        for _ in range(8):  # a short page has few variants: redraw, then take another page
            swap = rng.random(len(page["lines"])) < 0.5
            picks = rng.integers(0, len(group), size=len(page["lines"])).tolist()
            lines = [
                group[k] if s else x for x, s, k in zip(page["lines"], swap, picks, strict=True)
            ]
            text = "\n".join(lines)
            key = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if key not in seen:
                seen.add(key)
                docs.append({"text": text, "url": page["url"], "lang": page["lang"]})
                break
    for kind, count in (("near", n_near), ("exact", n_exact)):
        for _ in range(count):
            src = docs[int(rng.integers(n_base))]
            text = src["text"] if kind == "exact" else _near_copy(rng, src["text"])
            docs.append({"text": text, "url": src["url"], "lang": src["lang"], "planted": kind})
    order = rng.permutation(len(docs)).tolist()
    out = []
    for i, k in enumerate(order):
        d = docs[k]
        url = d["url"] + ("&" if "?" in d["url"] else "?") + f"e2e={i}" if d["url"] else ""
        out.append({"id": f"e2e-{i}", "text": d["text"], "url": url, "_planted": d.get("planted")})
    langs: dict[str, int] = {}
    for d in docs:
        langs[d["lang"]] = langs.get(d["lang"], 0) + 1
    info = {
        "documents": n,
        "seed": seed,
        "planted_near": n_near,
        "planted_exact": n_exact,
        "lang_share": {k: round(v / n, 4) for k, v in sorted(langs.items(), key=lambda x: -x[1])},
    }
    return out, info


def cache_root() -> Path:
    return Path(os.environ.get("PRIMER_BENCH_CACHE") or tempfile.gettempdir()) / "primer-bench-e2e"


def build_input(n: int, seed: int, files: int, root: Path | None = None) -> tuple[Path, dict]:
    """The input directory (built once per (n, seed, files), then reused) and its info."""
    root = root or cache_root()
    dest = root / f"v{BUILDER_VERSION}-n{n}-s{seed}-f{files}"
    if (dest / "info.json").is_file():
        return dest, json.loads((dest / "info.json").read_text())
    docs, info = build_docs(n, seed, load_pool())
    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "docs").mkdir(parents=True)
    for w in range(files):
        with gzip.open(tmp / "docs" / f"part-{w:03d}.jsonl.gz", "wt", compresslevel=1) as f:
            for d in docs[w::files]:
                f.write(json.dumps({k: v for k, v in d.items() if k[0] != "_"}) + "\n")
    info["files"] = files
    info["bytes"] = sum(p.stat().st_size for p in (tmp / "docs").iterdir())
    (tmp / "info.json").write_text(json.dumps(info, indent=1))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)  # atomic: a killed build leaves only a .tmp directory
    return dest, info


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }


def _primer_cmd(inp: Path, out: Path, until: str, sets: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "--input", str(inp), "--output", str(out)]
    cmd += ["--until", until, "--force", "--set", "ray.progress=false"]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def _primer_counts(out: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(out / "corpus.duckdb"), read_only=True)
    try:
        kept = con.execute("SELECT count(*) FILTER (kept) FROM documents").fetchone()[0]
        stages = con.execute(
            "SELECT drop_stage, count(*) FROM documents WHERE NOT kept GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        phases = con.execute("SELECT phase, seconds FROM phases ORDER BY ord").fetchall()
    finally:
        con.close()
    # where the run's seconds went (the ledger's phases: Ray start, ingest, each step, ledger)
    return {"kept": kept, "dropped_by_step": dict(stages), "phases": dict(phases)}


def run_once(system: str, inp: Path, work: Path, args) -> dict:
    """One run of ``system`` on ``inp``: wall, peak tree RSS, kept counts."""
    from bench._rss import run_measured

    out = work / system
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if system == "datatrove":
        code = "from bench._datatrove import main; main()"
        cmd = [sys.executable, "-c", code, str(inp), str(out), str(args.workers)]
    elif system == "primer_dedup":
        cmd = _primer_cmd(inp, out / "run", "dedup", args.set)
    else:
        cmd = _primer_cmd(inp, out / "run", "all", args.set + args.full_set)
    for attempt in range(3):  # Ray gives a node 30 s to start: a busy machine can miss it
        with open(work / f"{system}.log", "w") as log:
            rc, wall, peak = run_measured(cmd, cwd=ROOT, env=_env(), stdout=log, stderr=log)
        tail = (work / f"{system}.log").read_text()[-3000:]
        if rc == 0 or "timed out during startup" not in tail or attempt == 2:
            break
        print(f"  {system}: Ray start timed out (machine busy); retrying", flush=True)
    if rc != 0:
        raise SystemExit(f"{system} failed ({rc}):\n{tail}")
    if system == "datatrove":
        counts = json.loads((out / "counts.json").read_text())
    else:
        counts = _primer_counts(out / "run")
    shutil.rmtree(out, ignore_errors=True)
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20), **counts}


def summarise(runs: list[dict], n: int) -> dict:
    walls = [r["wall_s"] for r in runs]
    med = statistics.median(walls)
    out = {
        "runs": len(runs),
        "wall_s": {"min": min(walls), "median": med, "max": max(walls)},
        "docs_per_s_median": round(n / med, 1),
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs),
        "kept": runs[-1]["kept"],
        "kept_all_runs_equal": len({r["kept"] for r in runs}) == 1,
        "dropped_by_step": runs[-1]["dropped_by_step"],
    }
    if all("phases" in r for r in runs):  # primer: median seconds of each phase
        out["phases_median_s"] = {
            p: round(statistics.median(r["phases"].get(p, 0.0) for r in runs), 2)
            for p in runs[-1]["phases"]
        }
    return out


def table(res: dict) -> str:
    n = res["input"]["documents"]
    rows = [
        f"{n:,} documents, {res['input']['files']} files, repeats {res['repeats']}"
        f"{'' if res['complete'] else ' (INCOMPLETE)'}, "
        f"load avg start/end {res['loadavg_start']} / {res['loadavg_end']}",
        f"{'system':<14} {'wall min':>9} {'median':>9} {'max':>9} {'docs/s':>9} {'peak RSS':>10} {'kept':>8}",
    ]
    for name, s in res["systems"].items():
        w = s["wall_s"]
        rows.append(
            f"{name:<14} {w['min']:>8.1f}s {w['median']:>8.1f}s {w['max']:>8.1f}s "
            f"{s['docs_per_s_median']:>9,.1f} {s['peak_rss_mb_max']:>7,d} MB {s['kept']:>8,d}"
        )
    for name, s in res["systems"].items():
        if "phases_median_s" in s:
            phases = ", ".join(f"{p} {t:.1f}" for p, t in s["phases_median_s"].items() if t >= 0.05)
            rows.append(f"  {name} phases (median s): {phases}")
    for k, v in res.get("ratios", {}).items():
        rows.append(f"  {k}: {v}")
    return "\n".join(rows)


def _ratios(systems: dict) -> dict:
    out = {}
    if "primer_dedup" in systems and "datatrove" in systems:
        a, b = systems["primer_dedup"], systems["datatrove"]
        out["datatrove_over_primer_dedup_wall"] = round(
            b["wall_s"]["median"] / a["wall_s"]["median"], 2
        )
        out["datatrove_over_primer_dedup_rss"] = round(
            b["peak_rss_mb_max"] / a["peak_rss_mb_max"], 2
        )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench e2e", description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="input files and datatrove workers")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--systems",
        default="primer_dedup,datatrove,primer_full",
        help="comma-separated subset of primer_dedup, datatrove, primer_full",
    )
    ap.add_argument("--set", action="append", default=[], help="primer --set for both primer runs")
    ap.add_argument("--full-set", action="append", default=[], help="primer --set, full run only")
    ap.add_argument(
        "--stages",
        type=int,
        default=0,
        help="also time each per-document stage in this process on the first N documents",
    )
    ap.add_argument("--output", type=Path, default=RESULTS / "e2e.json")
    args = ap.parse_args(argv)
    if not SHARED.is_dir():
        print("bench e2e: ../shared/data/web is absent; skipped")
        return
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    inp, info = build_input(args.docs, args.seed, args.workers)
    print(f"input: {inp} ({info['bytes'] / 2**20:.1f} MB)", flush=True)
    res: dict = {
        "input": info,
        "repeats": args.repeats,
        "workers": args.workers,
        "primer_set": args.set,
        "primer_full_set": args.full_set,
        "cpu_count": os.cpu_count(),
        "loadavg_start": [round(x, 1) for x in os.getloadavg()],
    }
    if args.stages:
        res["stage_cpu_s"] = stage_costs(sorted((inp / "docs").iterdir())[0], args.stages)
        print(f"  CPU s per stage, first {args.stages} docs: {json.dumps(res['stage_cpu_s'])}")
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    with tempfile.TemporaryDirectory(prefix="primer-e2e-") as tmp:
        for rep in range(args.repeats):
            for system in systems:
                r = run_once(system, inp / "docs", Path(tmp), args)
                runs[system].append(r)
                print(f"  [{rep + 1}/{args.repeats}] {system}: {json.dumps(r)}", flush=True)
                _write(
                    res, runs, args
                )  # after every run: a long benchmark cut short keeps its runs
    _write(res, runs, args)
    print(table(res))


def stage_costs(path: Path, n: int) -> dict[str, float]:
    """CPU seconds of each part of ingest (as ``pipelines.ingest.ingest_shard`` runs it,
    with the cascade student) over the first ``n`` documents of ``path``, in this process."""
    import itertools
    import time

    import pyarrow.parquet as pq

    from corpus.dedup.candidates import with_minhash
    from corpus.readers.inputs import read_path
    from pipelines.config import PipelineConfig
    from pipelines.ingest import _batches, _rows, build_stages, to_table

    cfg = PipelineConfig()
    stages = build_stages(cfg, "web", student=True)
    cost = dict.fromkeys(["read", *(st.name for st in stages), "arrow + minhash + parquet"], 0.0)
    records = itertools.islice(read_path(path), n)
    batches = _batches(_rows(path, "k", records, []), cfg.reader.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        while True:
            t = time.process_time()
            batch = next(batches, None)
            cost["read"] += time.process_time() - t
            if batch is None:
                break
            for st in stages:
                t = time.process_time()
                batch = st.process(batch)  # the first batch also pays each stage's set-up
                cost[st.name] += time.process_time() - t
            t = time.process_time()
            pq.write_table(with_minhash(to_table(batch), cfg.dedup), Path(tmp) / "b.parquet")
            cost["arrow + minhash + parquet"] += time.process_time() - t
    cost["total"] = sum(cost.values())
    return {k: round(v, 2) for k, v in cost.items()}


def _write(res: dict, runs: dict[str, list[dict]], args) -> None:
    res["loadavg_end"] = [round(x, 1) for x in os.getloadavg()]
    res["systems"] = {s: summarise(r, args.docs) for s, r in runs.items() if r}
    res["complete"] = all(len(r) == args.repeats for r in runs.values())
    res["raw"] = runs
    res["ratios"] = _ratios(res["systems"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.output.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(res, indent=1) + "\n")
    tmp_out.rename(args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
