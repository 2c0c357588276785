"""MinHash near-dedup: accuracy on planted near-duplicates, signature speed, end-to-end cost.

Inputs (all from ``../shared/data/web``, fixed seed 0; nothing downloaded):

* **Accuracy.** Base documents are the real pages of ``c4-en-sample`` (800) and
  ``cc-main-2019-30-sample`` (447) with at least 50 words. For each base, two
  variants are planted with one known edit each: word insertions, word
  deletions, a changed boilerplate header/footer (lines of other real pages),
  or reordered paragraphs, with an edit size drawn so that true Jaccard spreads
  over ~0.5-1.0. Candidate pairs come from LSH banding (14 x 8 = 112
  permutations, 5-grams); true Jaccard (on the same normalised 5-gram sets) is
  computed for every candidate pair, every planted pair and a random sample of
  20,000 non-candidate pairs. At threshold 0.8: precision = candidates with
  J >= 0.8 / candidates (raw LSH; with ``verify`` every kept pair has J >= 0.8
  by construction), recall = true pairs (J >= 0.8) that are candidates / all
  true pairs found (candidates + planted + sample).
* **Speed.** 1,000-word documents: windows of 1,000 consecutive words at random
  offsets of the C4 sample's text stream. Throughput of shingling + signature
  for ours (batch of 1,000 docs), ``datasketch.MinHash.update_batch`` and
  ``MinHash.bulk`` (fed the same 5-word shingles as UTF-8 bytes; building them
  is counted), and datatrove's ``MinhashDedupSignature`` per-document work
  (``get_shingles`` + ``get_signature``: normalisation, spaCy word tokenizer,
  xxhash64, permutations; the file writes are not counted; also its
  ``get_signature`` alone on precomputed shingles), all with 5-grams and 112
  permutations, one process. Rates are per CPU-second of the process (the
  per-core figure, robust to other jobs on the machine); wall rates are kept too.
* **End to end.** ``near_dedup`` through local Ray (2 CPUs) on N documents of
  >= 300 words, each a random draw of real sentences of both web samples (~35k
  sentences, so unrelated documents share almost no 5-gram); 10% are planted
  near-copies of another document (~0.9 Jaccard). N = 10k and 100k by default
  (``--sizes``); wall time and
  peak RSS of the driver and of the whole process tree (Ray workers included),
  sampled every 0.2 s.

    nice .venv/bin/python -m bench minhash                    # everything (~10 min on 2 cores)
    nice .venv/bin/python -m bench.minhash --skip-e2e          # accuracy + speed only
    nice .venv/bin/python -m bench.minhash --sizes 10000 100000 1000000

Writes ``bench/results/minhash.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._rss import TreePeak
from corpus.dedup.config import DedupConfig
from corpus.dedup.lsh import band_hashes, candidate_probability
from corpus.dedup.minhash import signatures
from corpus.dedup.shingles import jaccard, shingle_hashes

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / ".." / "shared" / "data" / "web"
RESULTS = ROOT / "bench" / "results" / "minhash.json"
THRESHOLD = 0.8


def load_pages() -> list[str]:
    pages = []
    for name in ("c4-en-sample.jsonl.gz", "cc-main-2019-30-sample.jsonl.gz"):
        with gzip.open(WEB / name, "rt", encoding="utf-8") as f:
            pages += [json.loads(line)["text"] for line in f]
    return pages


def word_stream() -> list[str]:
    with gzip.open(WEB / "c4-en-sample.jsonl.gz", "rt", encoding="utf-8") as f:
        return " ".join(json.loads(line)["text"] for line in f).split()


# --- accuracy ----------------------------------------------------------------


def plant(
    base: str, rng: np.random.Generator, pool: list[str], lines: list[str]
) -> tuple[str, str]:
    """One near-duplicate of ``base`` with a random edit type and size."""
    kind = ["insert", "delete", "boilerplate", "reorder"][int(rng.integers(4))]
    words = base.split()
    n = len(words)
    if kind == "insert":
        k = max(1, int(n * rng.uniform(0.0, 0.08)))
        for pos in sorted(rng.integers(0, n + 1, size=k).tolist(), reverse=True):
            words.insert(pos, pool[int(rng.integers(len(pool)))])
        return kind, " ".join(words)
    if kind == "delete":
        k = max(1, int(n * rng.uniform(0.0, 0.08)))
        drop = set(rng.choice(n, size=min(k, n - 1), replace=False).tolist())
        return kind, " ".join(w for i, w in enumerate(words) if i not in drop)
    if kind == "boilerplate":
        budget = int(n * rng.uniform(0.0, 0.3))  # words of header/footer added
        head, foot, got = [], [], 0
        while got < budget:
            line = lines[int(rng.integers(len(lines)))]
            (head if rng.random() < 0.5 else foot).append(line)
            got += len(line.split())
        return kind, "\n".join(head + [base] + foot)
    paras = [p for p in base.split("\n") if p.strip()]
    if len(paras) < 3:  # too few paragraphs to reorder: split into ~40-word blocks
        paras = [" ".join(words[i : i + 40]) for i in range(0, n, 40)]
    k = max(2, int(len(paras) * rng.uniform(0.1, 0.6)))
    idx = rng.choice(len(paras), size=min(k, len(paras)), replace=False)
    perm = paras.copy()
    for a, b in zip(idx, rng.permutation(idx), strict=True):
        perm[a] = paras[b]
    return kind, "\n".join(perm)


def candidate_pairs(bands: np.ndarray) -> np.ndarray:
    """All pairs of documents sharing at least one band (i < j), unique."""
    n, n_bands = bands.shape
    pairs = []
    for k in range(n_bands):
        order = np.argsort(bands[:, k], kind="stable")
        h = bands[order, k]
        starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
        sizes = np.diff(np.append(starts, n))
        for s, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
            m = np.sort(order[s : s + size])
            i, j = np.triu_indices(size, 1)
            pairs.append(np.stack([m[i], m[j]], axis=1))
    if not pairs:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def accuracy(rng: np.random.Generator, cfg: DedupConfig) -> dict:
    pages = [p for p in load_pages() if len(p.split()) >= 50]
    lines = [ln for p in pages for ln in p.split("\n") if 3 <= len(ln.split()) <= 30]
    pool = word_stream()
    docs, planted, kinds = list(pages), [], []
    for b in range(len(pages)):
        for _ in range(2):
            kind, text = plant(pages[b], rng, pool, lines)
            planted.append((b, len(docs)))
            kinds.append(kind)
            docs.append(text)
    sh, off = shingle_hashes(docs, cfg.ngram)
    sets = [np.unique(sh[off[i] : off[i + 1]]) for i in range(len(docs))]
    bands = band_hashes(signatures(sh, off, cfg.num_perm, cfg.seed), cfg.bands, cfg.rows)
    cand = candidate_pairs(bands)
    cand_j = np.array([jaccard(sets[i], sets[j]) for i, j in cand.tolist()])
    cand_set = set(map(tuple, cand.tolist()))
    pl_j = np.array([jaccard(sets[i], sets[j]) for i, j in planted])
    pl_found = np.array([(min(i, j), max(i, j)) in cand_set for i, j in planted])
    # Random non-candidate pairs: how many true duplicates hide outside the candidates?
    n = len(docs)
    sample = rng.integers(0, n, size=(30_000, 2))
    sample = sample[sample[:, 0] != sample[:, 1]]
    sample = np.sort(sample, axis=1)
    sample = np.array([p for p in map(tuple, sample.tolist()) if p not in cand_set][:20_000])
    sample_j = np.array([jaccard(sets[i], sets[j]) for i, j in sample.tolist()])
    total_pairs = n * (n - 1) // 2
    est_missed_unplanted = float(np.mean(sample_j >= THRESHOLD)) * (total_pairs - len(cand))
    true_cand = int(np.sum(cand_j >= THRESHOLD))
    missed_planted = int(np.sum((pl_j >= THRESHOLD) & ~pl_found))
    recall = true_cand / max(1, true_cand + missed_planted + est_missed_unplanted)
    precision = true_cand / max(1, len(cand))
    # Recall and candidate rate by true-Jaccard bucket (the S-curve, measured vs theory).
    curve = []
    for lo in np.arange(0.5, 1.0, 0.05):
        m = (pl_j >= lo) & (pl_j < lo + 0.05)
        if m.sum():
            curve.append(
                {
                    "jaccard": f"{lo:.2f}-{lo + 0.05:.2f}",
                    "pairs": int(m.sum()),
                    "candidate_rate": round(float(pl_found[m].mean()), 3),
                    "theory": round(
                        float(np.mean(candidate_probability(pl_j[m], cfg.bands, cfg.rows))), 3
                    ),
                }
            )
    by_kind = {}
    for k in ("insert", "delete", "boilerplate", "reorder"):
        m = (np.array(kinds) == k) & (pl_j >= THRESHOLD)
        by_kind[k] = {
            "true_pairs": int(m.sum()),
            "recall": round(float(pl_found[m].mean()), 4) if m.sum() else None,
        }
    return {
        "documents": n,
        "base_pages": len(pages),
        "planted_pairs": len(planted),
        "planted_jaccard_quantiles": [
            round(float(q), 3) for q in np.quantile(pl_j, [0, 0.25, 0.5, 0.75, 1])
        ],
        "candidate_pairs": int(len(cand)),
        "candidates_true": true_cand,
        "sampled_noncandidate_pairs": int(len(sample)),
        "sampled_noncandidate_true": int(np.sum(sample_j >= THRESHOLD)),
        "precision_lsh": round(precision, 4),
        "precision_verified": 1.0 if true_cand else None,
        "recall": round(recall, 4),
        "recall_by_edit": by_kind,
        "s_curve": curve,
    }


# --- speed -------------------------------------------------------------------


def thousand_word_docs(rng: np.random.Generator, n: int) -> list[str]:
    words = word_stream()
    return [
        " ".join(words[s : s + 1000]) for s in rng.integers(0, len(words) - 1000, size=n).tolist()
    ]


def _rate(fn, n_docs: int, repeat: int = 3) -> tuple[float, float]:
    """Best docs/s over ``repeat`` runs, by wall clock and by this process's CPU time.

    Everything here is single-threaded, so docs per CPU-second is the per-core
    throughput even when other jobs share the cores (wall time then undercounts).
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return n_docs / wall, n_docs / cpu


def speed(rng: np.random.Generator, cfg: DedupConfig, n_ours: int = 2000, n_ref: int = 200) -> dict:
    docs = thousand_word_docs(rng, n_ours)
    ref = docs[:n_ref]

    def ours():
        for i in range(0, len(docs), 1000):
            sh, off = shingle_hashes(docs[i : i + 1000], cfg.ngram)
            band_hashes(signatures(sh, off, cfg.num_perm, cfg.seed), cfg.bands, cfg.rows)

    rates = {"ours": _rate(ours, len(docs))}

    from datasketch import MinHash

    def shingles(text: str) -> list[bytes]:
        w = text.lower().split()
        return [" ".join(w[i : i + cfg.ngram]).encode() for i in range(len(w) - cfg.ngram + 1)]

    def ds_update():
        for t in ref:
            MinHash(num_perm=cfg.num_perm, seed=cfg.seed).update_batch(shingles(t))

    def ds_bulk():
        MinHash.bulk([shingles(t) for t in ref], num_perm=cfg.num_perm, seed=cfg.seed)

    rates["datasketch_update_batch"] = _rate(ds_update, len(ref))
    rates["datasketch_bulk"] = _rate(ds_bulk, len(ref))
    out: dict = {}
    try:
        step = _datatrove(cfg)
        rates["datatrove"] = _rate(
            lambda: [step.get_signature(step.get_shingles(t)) for t in ref], len(ref)
        )
        # Their permutation step alone, on their own shingles (no tokenizer): kernel against kernel.
        dt_shingles = [step.get_shingles(t) for t in ref]
        rates["datatrove_get_signature_only"] = _rate(
            lambda: [step.get_signature(x) for x in dt_shingles], len(ref)
        )
    except Exception as e:  # report exactly why instead of a number
        out["datatrove_error"] = f"{type(e).__name__}: {e}"
    for k, (wall, cpu) in rates.items():
        out[f"{k}_docs_per_s_wall"] = round(wall, 1)
        out[f"{k}_docs_per_cpu_s"] = round(cpu, 1)
    for k in rates:
        if k != "ours":
            out[f"ratio_vs_{k}"] = round(rates["ours"][1] / rates[k][1], 2)
    return out


def _datatrove(cfg: DedupConfig):
    import xxhash
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    step = MinhashDedupSignature(
        output_folder=tempfile.mkdtemp(prefix="datatrove-"),
        config=MinhashConfig(n_grams=cfg.ngram, num_buckets=cfg.bands, hashes_per_bucket=cfg.rows),
    )
    try:
        step.get_shingles("probe text for the hash function")
    except TypeError:
        # datatrove 0.10 hands str to xxhash, which xxhash >= 3.5 refuses: same hash on the UTF-8 bytes.
        step._hash_func = lambda s: xxhash.xxh64_intdigest(s.encode("utf-8"))
    return step


# --- end to end --------------------------------------------------------------


def sentence_pool() -> list[str]:
    """Real sentences (5-60 words) of both web samples, for recombined documents."""
    import re

    out = []
    for page in load_pages():
        out += [
            x.strip() for x in re.split(r"(?<=[.!?])\s+|\n+", page) if 5 <= len(x.split()) <= 60
        ]
    return out


def synthetic_corpus(
    rng: np.random.Generator, n: int, pool: list[str], directory: Path
) -> list[str]:
    """``n`` documents of >= 300 words, each a random draw of real sentences; 10% are
    near-copies (6 words substituted) of another document of the same file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(x.split()) for x in pool])
    files, per_file = [], 50_000
    for f0 in range(0, n, per_file):
        m = min(per_file, n - f0)
        draws = rng.integers(0, len(pool), size=(m, 40))
        texts = []
        for row in draws:
            k = int(np.searchsorted(np.cumsum(lengths[row]), 300)) + 1
            texts.append(" ".join(pool[i] for i in row[:k].tolist()))
        for i in np.flatnonzero(rng.random(m) < 0.1).tolist():
            src = texts[int(rng.integers(m))].split()
            for p in rng.integers(0, len(src), size=6).tolist():
                src[p] = src[int(rng.integers(len(src)))]
            texts[i] = " ".join(src)
        name = f"part-{f0 // per_file:03d}"
        table = pa.table(
            {
                "uid": [f"{name}:{f0 + i}" for i in range(m)],
                "id": [f"d{f0 + i}" for i in range(m)],
                "source_file": [name] * m,
                "position": list(range(m)),
                "text": texts,
            }
        )
        pq.write_table(table, directory / f"{name}.parquet")
        files.append(str(directory / f"{name}.parquet"))
    return files


def end_to_end(rng: np.random.Generator, sizes: list[int], verify: bool) -> list[dict]:
    from pipelines import ray_backend as rb
    from pipelines.near_dedup import near_dedup

    rb.init(num_cpus=2, progress=False)
    pool = sentence_pool()
    rows = []
    with tempfile.TemporaryDirectory(prefix="minhash-bench-") as tmp:
        for n in sizes:
            files = synthetic_corpus(rng, n, pool, Path(tmp) / f"in-{n}")
            out = Path(tmp) / f"out-{n}"
            with TreePeak(os.getpid()) as mem:
                t = time.perf_counter()
                near_dedup(files, out, DedupConfig(verify=verify))
                wall = time.perf_counter() - t
            stats = json.loads((out / "near_dedup_stats.json").read_text())
            rows.append(
                {
                    "documents": n,
                    "verify": verify,
                    "wall_s": round(wall, 1),
                    "docs_per_s": round(n / wall, 1),
                    "rss_driver_before_mb": round(mem.before / 2**20),
                    "peak_rss_driver_mb": round(mem.driver / 2**20),
                    "peak_rss_tree_mb": round(mem.peak / 2**20),
                    "dropped": stats["dropped"],
                    "candidate_edges": stats["candidate_edges"],
                    "graph_nodes": stats["graph_nodes"],
                    "graph_mb": round(stats["graph_bytes"] / 2**20, 2),
                    "timings": stats["timings"],
                }
            )
            print(f"  e2e {rows[-1]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.minhash")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument(
        "--verify-e2e", action="store_true", help="also time the end-to-end run with verify=True"
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    cfg = DedupConfig()
    result: dict = {"config": cfg.model_dump(), "cpu_count": os.cpu_count()}

    print("accuracy on planted near-duplicates (threshold 0.8)", flush=True)
    acc = accuracy(np.random.default_rng(0), cfg)
    result["accuracy"] = acc
    print(
        f"  {acc['documents']} docs, {acc['planted_pairs']} planted pairs (J quantiles {acc['planted_jaccard_quantiles']}), "
        f"{acc['candidate_pairs']} LSH candidate pairs"
    )
    print(
        f"  precision LSH only {acc['precision_lsh']:.4f}   with verify {acc['precision_verified']}   recall {acc['recall']:.4f}"
    )
    print(f"  recall by edit (pairs J>=0.8): {acc['recall_by_edit']}")
    print(
        f"  non-candidate sample: {acc['sampled_noncandidate_true']} of {acc['sampled_noncandidate_pairs']} pairs have J>=0.8"
    )
    for row in acc["s_curve"]:
        print(
            f"    J {row['jaccard']}: {row['pairs']:4d} pairs, candidate rate {row['candidate_rate']:.3f} (theory {row['theory']:.3f})"
        )

    print(
        "\nsignature speed, 1,000-word docs, 5-grams, 112 permutations, one process (ratios on CPU time)",
        flush=True,
    )
    sp = speed(np.random.default_rng(0), cfg)
    result["speed"] = sp
    for k, v in sp.items():
        print(f"  {k}: {v}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")  # again after each slow part
    if not args.skip_e2e:
        print("\nend to end through local Ray (2 CPUs)", flush=True)
        for verify in (False, True) if args.verify_e2e else (False,):
            key = "end_to_end_verify" if verify else "end_to_end"
            result[key] = []
            for n in args.sizes:
                result[key] += end_to_end(np.random.default_rng(0), [n], verify=verify)
                RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
