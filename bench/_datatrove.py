"""The datatrove pipeline ``bench e2e`` compares primer's shared steps with.

Run as its own process (``python -c 'from bench._datatrove import main; main()' IN OUT
WORKERS``) so the benchmark samples its whole process tree like primer's. The steps
mirror primer's defaults: fastText lid.176 English >= 0.65, Gopher repetition + quality,
C4 with primer's two different thresholds (>= 5 words a line, >= 3 sentences), FineWeb
ratios, then MinHash 5-gram 14 bands x 8 rows in datatrove's
four stages (signatures, buckets, clusters, filter) and a JsonlWriter. The signature
stage runs in the filtering pass (the documents' order is the written file's), which
saves datatrove one read of the filtered text.

datatrove's LanguageFilter downloads ``lid.176.bin`` at first use; nothing may be
downloaded here, so its model is the same ``lid.176.ftz`` primer uses (see
``corpus/filters/langid.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from datatrove.utils.lid import FT176LID


def _xxhash32(data: str | bytes) -> int:
    import xxhash

    return xxhash.xxh32_intdigest(data.encode() if isinstance(data, str) else data)


def _xxhash64(data: str | bytes) -> int:
    import xxhash

    return xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)


def _patch_xxhash() -> None:
    """datatrove 0.10.1 hashes ``str`` shingles; xxhash >= 4 only takes bytes."""
    from datatrove.utils.hashes import xxhash as dt_xxhash

    dt_xxhash.xxhash32, dt_xxhash.xxhash64 = _xxhash32, _xxhash64


class LocalFT176(FT176LID):
    """FT176LID reading primer's local ``lid.176.ftz`` instead of downloading."""

    @property
    def model(self):
        if self._model is None:
            from fasttext.FastText import _FastText

            from corpus.filters.langid import default_model_path

            self._model = _FastText(str(default_model_path()))
        return self._model


def run(inp: Path, out: Path, workers: int) -> dict:
    _patch_xxhash()
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    mh = MinhashConfig(
        n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64)
    )
    lang = LanguageFilter(languages=["en"], language_threshold=0.65)
    lang.model = LocalFT176(["en"])
    files = len(list(inp.glob("*.jsonl.gz")))
    stages = [
        (
            [
                JsonlReader(str(inp), glob_pattern="*.jsonl.gz"),
                lang,
                GopherRepetitionFilter(),
                GopherQualityFilter(),
                C4QualityFilter(min_words_per_line=5, min_num_sentences=3),
                FineWebQualityFilter(),
                JsonlWriter(str(out / "filtered"), output_filename="${rank}.jsonl.gz"),
                MinhashDedupSignature(output_folder=str(out / "sigs"), config=mh),
            ],
            files,
        ),
        ([MinhashDedupBuckets(str(out / "sigs"), str(out / "buckets"), config=mh)], 14),
        ([MinhashDedupCluster(str(out / "buckets"), str(out / "remove"), config=mh)], 1),
        (
            [
                JsonlReader(str(out / "filtered"), glob_pattern="*.jsonl.gz"),
                MinhashDedupFilter(str(out / "remove")),
                JsonlWriter(str(out / "output"), output_filename="${rank}.jsonl.gz"),
            ],
            files,
        ),
    ]
    for i, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=workers,
            logging_dir=str(out / "logs" / f"stage{i}"),
            skip_completed=False,
        ).run()
    return stage_counts(out)


def stage_counts(out: Path) -> dict:
    """Documents dropped per filter (from datatrove's merged stats) and the kept count."""
    dropped: dict[str, int] = {}
    for i in (0, 3):
        stats = json.loads((out / "logs" / f"stage{i}" / "stats.json").read_text())
        for step in stats:
            n = step.get("stats", {}).get("dropped", {})
            n = n.get("total", n) if isinstance(n, dict) else n
            if n:
                dropped[step["name"].split("-", 1)[-1].strip()] = int(n)
    import gzip

    kept = 0
    for p in sorted((out / "output").glob("*.jsonl.gz")):
        with gzip.open(p, "rt") as f:
            kept += sum(1 for _ in f)
    return {"kept": kept, "dropped_by_step": dropped}


def main() -> None:
    inp, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    counts = run(inp, out, workers)
    (out / "counts.json").write_text(json.dumps(counts))


if __name__ == "__main__":
    main()
