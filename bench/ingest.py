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
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._rss import run_measured

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
    args = ap.parse_args(argv)
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


if __name__ == "__main__":
    main(sys.argv[1:])
