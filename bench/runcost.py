"""Fixed cost of one run: a 20-document `primer run` in-process (``ray.mode=local``, what
``auto`` picks for it) against the same run on local Ray, plus where the seconds go.

Input: the first 20 records of the demo's ``site-packages.jsonl.zst`` (no ../shared).
Each run is a fresh CLI subprocess with the default config (classify on), timed end to
end; the components are timed alone in this process (wall and CPU seconds).
Writes ``bench/results/runcost.json``. On a loaded machine compare the two modes of the
same invocation, not absolute numbers across invocations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sample(dest: Path, n: int = 20) -> Path:
    from corpus.readers.inputs import read_path

    rows = []
    for rec in read_path(ROOT / "pipelines" / "demo_data" / "site-packages.jsonl.zst"):
        if hasattr(rec, "text"):
            rows.append({"id": rec.id, "text": rec.text})
        if len(rows) == n:
            break
    dest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return dest


def _run(src: Path, out: Path, mode: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pipelines.cli", "run", "-q", "-i", str(src), "-o", str(out)]
    start = time.perf_counter()
    subprocess.run([*cmd, "--set", f"ray.mode={mode}"], env=env, check=True)
    return round(time.perf_counter() - start, 1)


def _timed(fn) -> list[float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return [round(time.perf_counter() - w, 2), round(time.process_time() - c, 2)]


def components() -> dict[str, list[float]]:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from classifiers.config import ClassifyConfig
    from classifiers.stage import EduStage
    from corpus.decontam import BenchmarkIndex
    from corpus.filters.langid import LanguageIdentifier
    from corpus.tokens import TokenStage
    from pipelines import ray_backend as rb
    from pipelines.config import PipelineConfig

    return {
        "fasttext_lid_load": _timed(lambda: LanguageIdentifier(None, 2000)),
        "decontam_index_build": _timed(
            lambda: BenchmarkIndex.from_config(PipelineConfig().decontam)
        ),
        "tokenizer_load": _timed(lambda: TokenStage("cl100k_base").setup()),
        "edu_model_load": _timed(lambda: EduStage(ClassifyConfig()).setup()),
        "ray_init": _timed(lambda: rb.init(num_cpus=os.cpu_count())),
        "ray_shutdown": _timed(rb.shutdown),
    }


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = _sample(Path(tmp) / "in.jsonl")
        runs = {mode: _run(src, Path(tmp) / mode, mode) for mode in ("local", "ray")}
    parts = components()
    result = {"documents": 20, "run_wall_s": runs, "components_wall_cpu_s": parts}
    print(f"20-document run: in-process {runs['local']} s, local Ray {runs['ray']} s")
    for name, (wall, cpu) in parts.items():
        print(f"  {name:22} {wall:7.2f} s wall {cpu:7.2f} s CPU")
    out = ROOT / "bench" / "results" / "runcost.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
