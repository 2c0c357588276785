"""Ingest throughput and peak memory on the shared C4 + CC samples.

Input: ``../shared/data/web/c4-en-sample.jsonl.gz`` (800 docs) and
``cc-main-2019-30-sample.jsonl.gz`` (447 docs), each copied ``--copies`` times (default 8)
under new names (so 8 shards of each, 9,976 documents), since one pass over
1,247 documents is too short to time.

Measured in one run:
* one shard at a time in this process (read + filters + token count + Parquet),
  no Ray: the per-core cost of the ingest stage;
* ``primer run --until ingest`` as a subprocess (local Ray, all cores):
  wall time, docs/s, and peak RSS summed over the driver and all Ray processes.

Rerun: ``make bench BENCH=ingest`` (or ``python -m bench ingest``).

``--docs N [N ...]`` (issue 15, memory flat in input size) instead: per N, ONE
``.jsonl.zst`` of N seeded documents recombined from the same samples (each takes a real
page as template and swaps half its lines for lines of other pages of its source, as
``bench/e2e.py`` does; redrawn until its text is new), split into ``--parts`` parts
(``reader.split_bytes`` = size / parts, so the split path runs), and ``primer run --until
ingest`` on it as a subprocess: wall time, docs/s and peak RSS of the whole process tree
and of the driver. Memory is flat when the largest N's peak is within 1.5x of the
smallest's. ``--max-minutes`` skips an N whose time, projected from the previous N's
docs/s, is over it. Writes ``bench/results/ingest-docs.json``.
``python -m bench ingest --docs 10000 100000 1000000``.

Measured (2-core machine shared with other jobs, load average 4-8, nice 10, 4 parts):

    docs       MiB in  wall s  docs/s  peak RSS (tree)  driver
    10,000        8.6    38.9     257        2,221 MiB  389 MiB
    100,000      88.1   289.0     346        2,537 MiB  663 MiB   (x1.14: flat)
    1,000,000  skipped: projected 48 min from the 100k rate

The driver's global steps alone (exact dedup, write, ledger) on 100 renamed copies of
a 10k run's work files (1M documents): 1,009 MiB, from 3,189 MiB before the write and
ledger sorts were capped (``shards.sort_memory_mib``, ``steps.LEDGER_MEMORY_MIB``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import zstandard

from bench._rss import TreePeak, run_measured

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "web"
FILES = ["c4-en-sample.jsonl.gz", "cc-main-2019-30-sample.jsonl.gz"]
COPIES = 8
RESULTS = Path(__file__).parent / "results"


def _build_inputs(root: Path, copies: int = COPIES) -> list[Path]:
    root.mkdir(parents=True)
    paths = []
    for name in FILES:
        for k in range(copies):
            dest = root / f"copy{k}-{name}"
            shutil.copy(SHARED / name, dest)
            paths.append(dest)
    return paths


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench ingest")
    ap.add_argument("--copies", type=int, default=COPIES, help="copies of each sample file")
    ap.add_argument("--docs", type=int, nargs="+", help="one big input of N documents per N")
    ap.add_argument("--parts", type=int, default=4, help="--docs: parts of the big input")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=30.0, help="--docs: skip longer Ns")
    ap.add_argument("--num-cpus", type=int, default=None, help="--docs: ray.num_cpus")
    args = ap.parse_args(argv)
    if args.docs:
        big_input_main(args)
        return
    from pipelines.config import load_config
    from pipelines.ingest import ingest_shard
    from pipelines.layout import Layout

    if not SHARED.is_dir():
        print("bench ingest: ../shared/data/web is absent; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = _build_inputs(tmp / "in", args.copies)

        # 1. in-process, one shard at a time (one core)
        cfg = load_config(None, [], output=str(tmp / "solo"))
        ingest_shard(inputs[0], Layout(tmp / "warm"), cfg)  # load fastText/tokenizer once
        start = time.perf_counter()
        n = sum(ingest_shard(p, Layout(tmp / "solo"), cfg)["n_docs"] for p in inputs)
        solo = time.perf_counter() - start

        # 2. the real command through local Ray
        cmd = [
            sys.executable,
            "-m",
            "pipelines.cli",
            "run",
            "--input",
            str(tmp / "in"),
            "--output",
            str(tmp / "ray"),
            "--until",
            "ingest",
            "--set",
            "ray.progress=false",
        ]
        rc, wall, peak = run_measured(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if rc != 0:
            raise SystemExit(f"primer run failed with {rc}")

    res = {
        "documents": n,
        "shards": len(inputs),
        "in_process_docs_per_s": round(n / solo, 1),
        "ray_run_wall_s": round(wall, 2),
        "ray_run_docs_per_s_incl_startup": round(n / wall, 1),
        "ray_run_peak_rss_mib": round(peak / 2**20),
    }
    print(
        f"ingest (read + filters + tokens), {n} docs in {len(inputs)} shards (C4 + CC samples x{args.copies})"
    )
    print(f"  one core, in process      : {res['in_process_docs_per_s']:>8.1f} docs/s")
    print(
        f"  primer run --until ingest : {res['ray_run_docs_per_s_incl_startup']:>8.1f} docs/s "
        f"({wall:.1f} s wall incl. Ray start, exact dedup, write, index)"
    )
    print(f"  peak RSS (driver + Ray)   : {res['ray_run_peak_rss_mib']:>8d} MiB")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(res, indent=1))


# --- --docs: one big input, split (issue 15) ---------------------------------------------


def big_docs(n: int, seed: int) -> Iterator[dict]:
    """``n`` distinct documents recombined from the shared samples (recipe: module doc)."""
    from bench.e2e import load_pool

    pool = load_pool(SHARED)
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, str], list[str]] = {}
    for page in pool:
        groups.setdefault((page["source"], page["lang"]), []).extend(page["lines"])
    seen: set[bytes] = set()
    i = 0
    while i < n:
        page = pool[int(rng.integers(len(pool)))]
        group = groups[(page["source"], page["lang"])]
        swap = rng.random(len(page["lines"])) < 0.5
        picks = rng.integers(0, len(group), size=len(page["lines"])).tolist()
        lines = [group[k] if s else x for x, s, k in zip(page["lines"], swap, picks, strict=True)]
        text = "\n".join(lines)
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        if key in seen:
            continue
        seen.add(key)
        url = page["url"] + ("&" if "?" in page["url"] else "?") + f"i={i}" if page["url"] else ""
        yield {"id": f"big-{i}", "text": text, "url": url}
        i += 1


def build_big_input(n: int, seed: int, root: Path) -> Path:
    """``root/big-<n>.jsonl.zst`` (streamed: memory does not grow with ``n``)."""
    path = root / f"big-{n}.jsonl.zst"
    root.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
        for doc in big_docs(n, seed):
            out.write((json.dumps(doc, ensure_ascii=False) + "\n").encode())
    return path


def measure_big(n: int, args, tmp: Path) -> dict:
    """``primer run --until ingest`` on one N-document file in ``args.parts`` parts."""
    start = time.perf_counter()
    path = build_big_input(n, args.seed, tmp / "in")
    built = time.perf_counter() - start
    split_bytes = -(-path.stat().st_size // args.parts)
    cmd = [
        *(sys.executable, "-m", "pipelines.cli", "run", "--input", str(path)),
        *("--output", str(tmp / "out"), "--until", "ingest"),
        *("--set", "ray.progress=false", "--set", f"reader.split_bytes={split_bytes}"),
    ]
    if args.num_cpus:
        cmd += ["--set", f"ray.num_cpus={args.num_cpus}"]
    log = tmp / "run.log"
    start = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        with TreePeak(proc.pid) as mem:
            rc = proc.wait()
    wall = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(f"primer run failed with {rc}:\n{log.read_text()[-3000:]}")
    markers = [json.loads(p.read_text()) for p in (tmp / "out" / "work" / "done").glob("*.json")]
    return {
        "documents": n,
        "input_mib": round(path.stat().st_size / 2**20, 1),
        "parts": len(markers),
        "ingested_docs": sum(m["n_docs"] for m in markers),
        "build_s": round(built, 1),
        "wall_s": round(wall, 1),
        "docs_per_s": round(n / wall, 1),
        "peak_rss_mib": round(mem.peak / 2**20),
        "driver_peak_rss_mib": round(mem.driver / 2**20),
    }


def big_input_main(args) -> None:
    if not SHARED.is_dir():
        print("bench ingest: ../shared/data/web is absent; skipped")
        return
    rows: list[dict] = []
    skipped: list[dict] = []
    for n in sorted(args.docs):
        if rows:
            projected = n / rows[-1]["docs_per_s"] / 60
            if projected > args.max_minutes:
                skipped.append({"documents": n, "projected_minutes": round(projected, 1)})
                print(f"  {n:,} docs: skipped, projected {projected:.0f} min > {args.max_minutes}")
                continue
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure_big(n, args, Path(tmp)))
        print(f"  {n:,} docs: {rows[-1]}", flush=True)
    flat = rows[-1]["peak_rss_mib"] <= 1.5 * rows[0]["peak_rss_mib"] if len(rows) > 1 else None
    print(f"\ningest of one big .jsonl.zst in {args.parts} parts (primer run --until ingest)")
    print(f"{'docs':>10} {'MiB in':>7} {'wall s':>8} {'docs/s':>8} {'peak RSS':>9} {'driver':>7}")
    for r in rows:
        print(
            f"{r['documents']:>10,} {r['input_mib']:>7} {r['wall_s']:>8} {r['docs_per_s']:>8}"
            f" {r['peak_rss_mib']:>5} MiB {r['driver_peak_rss_mib']:>3} MiB"
        )
    for s in skipped:
        print(f"{s['documents']:>10,} skipped: projected {s['projected_minutes']} min")
    if flat is not None:
        ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
        print(
            f"peak RSS x{ratio:.2f} for x{rows[-1]['documents'] / rows[0]['documents']:.0f} docs:"
            f" {'flat (<= 1.5x)' if flat else 'NOT flat (> 1.5x)'}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = {"parts": args.parts, "seed": args.seed, "runs": rows, "skipped": skipped, "flat": flat}
    (RESULTS / "ingest-docs.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
