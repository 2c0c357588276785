"""Educational-value scoring speed: teacher (MiniLM + head), student (static MiniLM), cascade.

Input, built reproducibly from ``../shared/data/web/`` (C4 sample, 800 docs, and
CC-MAIN-2019-30 sample, 447 docs): every document cut into consecutive
2,000-character windows (what the model scores), in file order, then the list
repeated until ``--docs`` texts (default 4,000). The teacher is timed on the
first ``--teacher-docs`` (default 300) because it is ~100x slower.

Measured in one run, same texts, this process, ``torch`` at ``--threads`` threads:
* teacher fp32 and teacher with dynamic int8 linear layers (quality agreement
  with fp32 reported), documents per second;
* student alone and the cascade (student, teacher only for ``low <= s < high``,
  default: ``CascadeConfig``): docs/s, share sent to the teacher, and agreement
  with the teacher's keep decision (score >= 3) as F1 and Spearman on the
  teacher-timed texts. The static student caches the WordPiece split of each
  distinct word, so it is timed cold (fresh cache, first pass) and warm (second
  pass, the steady state of a long stream); the cascade is timed warm.
* keep agreement of the student and the cascade with the teacher off the
  labels' distribution: on the demo sample (``pipelines/demo_data``: Python
  docs, package READMEs and licences), every record scored by all three;
* quality against the judge labels cannot be measured on these unlabelled
  texts: the model's cross-validated figures (``meta.json``, written by
  ``primer train-classifier``: precision/recall/F1 at >= 3, Spearman, AUC, the
  confusion matrix on random web pages, the scorers compared on the same folds,
  the learning curve, the cascade's keep agreement on the labels) are printed.
  ``--quality-only`` prints them (and the demo agreement) without the timings.

Rerun: ``make bench BENCH=classifier`` (or ``python -m bench classifier``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "web"
FILES = ["c4-en-sample.jsonl.gz", "cc-main-2019-30-sample.jsonl.gz"]
RESULTS = Path(__file__).parent / "results"


def build_texts(n: int, window: int = 2000) -> list[str]:
    base: list[str] = []
    for name in FILES:
        with gzip.open(SHARED / name, "rt", encoding="utf-8") as f:
            for line in f:
                t = json.loads(line).get("text") or ""
                base += [t[i : i + window] for i in range(0, len(t), window)] or [""]
    return [base[i % len(base)] for i in range(n)]


def agreement(ref: np.ndarray, other: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    from classifiers.train import keep_agreement

    keep = {k: round(v, 4) for k, v in keep_agreement(ref, other).items()}
    return {
        **keep,
        "spearman_vs_teacher": round(float(spearmanr(ref, other).statistic), 4),
        "teacher_keep_rate": round(float(np.mean(ref >= 3)), 4),
    }


DEMO = Path(__file__).resolve().parents[1] / "pipelines" / "demo_data"


def demo_texts() -> list[str]:
    """Every record of the demo sample, as the readers extract it."""
    from corpus.readers.base import Record
    from corpus.readers.inputs import read_path

    out = []
    for path in sorted(DEMO.iterdir()):
        out += [r.text for r in read_path(path) if isinstance(r, Record) and r.text.strip()]
    return out


_TEACHER_DEMO: dict[int, np.ndarray] = {}


def teacher_on_demo(model, texts: list[str]) -> np.ndarray:
    """The teacher's demo-sample scores, computed once per model object (they are slow)."""
    if id(model) not in _TEACHER_DEMO:
        _TEACHER_DEMO[id(model)] = model.predict(texts)
    return _TEACHER_DEMO[id(model)]


def demo_agreement(model, low: float, high: float) -> dict:
    """Student and cascade vs the teacher's keep decision on the demo sample."""
    from classifiers.cascade import cascade_predict

    texts = demo_texts()
    teacher = teacher_on_demo(model, texts)
    cas = cascade_predict(model, texts, low, high)
    return {
        "docs": len(texts),
        "teacher_keeps": int(np.sum(teacher >= 3)),
        "student_keeps": int(np.sum(cas.student >= 3)),
        "cascade_keeps": int(np.sum(cas.scores >= 3)),
        "student_vs_teacher": agreement(teacher, cas.student),
        "cascade_vs_teacher": agreement(teacher, cas.scores),
        "cascade_share_to_teacher": round(float(cas.to_teacher.mean()), 4),
    }


def demo_bands(model, bands=((2.995, 3.005), (2.95, 3.05), (2.8, 3.2), (2.5, 3.5))) -> list[dict]:
    """Cascade keep agreement with the teacher on the demo sample, per uncertainty band."""
    from classifiers.cascade import in_band
    from classifiers.train import keep_agreement

    texts = demo_texts()
    teacher, student = teacher_on_demo(model, texts), model.student.predict(texts)
    out = []
    for low, high in bands:
        unsure = in_band(student, low, high)
        agree = keep_agreement(teacher, np.where(unsure, teacher, student))["keep_agreement"]
        out.append(
            {
                "band": [low, high],
                "keep_agreement": round(agree, 4),
                "to_teacher": round(float(unsure.mean()), 4),
            }
        )
    return out


def label_report(annotations: str, cache_dir: str | None) -> dict:
    """Duplicates inside the labels (identical texts and their label agreement), and what
    semantic dedup removes from them at 0.95 / 0.9 (cached MiniLM embeddings, if given)."""
    from classifiers.model import EduModel
    from classifiers.train import embedding_cache_key, load_annotations

    rows = load_annotations(annotations)
    texts = [r["text"] for r in rows]
    first: dict[str, int] = {}
    same = copies = 0
    for i, t in enumerate(texts):
        if t in first:
            copies += 1
            same += rows[first[t]]["score"] == rows[i]["score"]
        else:
            first[t] = i
    out: dict = {"labels": len(texts), "identical_copies": copies, "copies_same_label": same}
    if cache_dir:
        path = Path(cache_dir) / f"emb-{embedding_cache_key(EduModel().spec, texts)}.npy"
        if path.exists():
            from corpus.dedup.semantic import semantic_dedup

            emb = np.load(path)
            uids = [str(i) for i in range(len(texts))]
            for t in (0.95, 0.9):
                t0 = time.perf_counter()
                drops = semantic_dedup(uids, emb, t)
                other = [d for d in drops if texts[int(d.uid)] != texts[int(d.duplicate_of)]]
                out[f"semantic_dedup_{t}"] = {
                    "dropped": len(drops),
                    "not_identical": len(other),
                    "seconds": round(time.perf_counter() - t0, 2),
                    "pairs": [
                        [
                            round(d.similarity, 3),
                            texts[int(d.duplicate_of)][:100],
                            texts[int(d.uid)][:100],
                        ]
                        for d in other[:: max(1, len(other) // 3)][:3]
                    ],
                }
    return out


def print_quality(meta: dict) -> None:
    """The cross-validated figures the model card holds, from ``meta.json``."""
    from classifiers.metrics import LEVELS

    for sub, m in (meta.get("cv") or {}).items():
        print(
            f"  labels, out-of-fold, {sub} (n={m['n']}, >= 3: {m['positives']}): "
            f"precision {m['precision']:.3f} recall {m['recall']:.3f} F1 {m['f1']:.3f} "
            f"Spearman {m['spearman']:.3f} AUC "
            + ("n/a" if m.get("auc") is None else f"{m['auc']:.3f}")
        )
    web = (meta.get("cv") or {}).get("random web")
    if web:
        print("  confusion on random web pages (rows = label, columns = predicted level):")
        print("        " + " ".join(f"{k:>5}" for k in LEVELS))
        for k, row in zip(LEVELS, web["confusion"], strict=True):
            print(f"    {k:>3} " + " ".join(f"{v:>5}" for v in row))
    for name, subs in (meta.get("comparison") or {}).items():
        cells = "; ".join(
            f"{sub} P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}"
            for sub, m in subs.items()
        )
        print(f"  compared (same folds) {name}: {cells}")
    for row in meta.get("learning_curve") or []:
        cells = "; ".join(
            f"{sub} F1 {row[sub]['f1']:.3f} Spearman {row[sub]['spearman']:.3f}"
            for sub in row
            if isinstance(row[sub], dict)
        )
        print(f"  learning curve {row['fraction']:.0%} ({row['train_docs']} docs/fold): {cells}")
    for name, subs in (meta.get("cv_cascade") or {}).items():
        cells = "; ".join(
            f"{sub} F1 {m['f1']:.3f} keep agreement {m['keep_agreement']:.3f} "
            f"to teacher {m['share_to_teacher']:.1%}"
            for sub, m in subs.items()
        )
        print(f"  labels, out-of-fold, {name}: {cells}")


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench classifier")
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--teacher-docs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=None, help="model directory (default: shipped)")
    ap.add_argument("--low", type=float, default=None, help="default: CascadeConfig().low")
    ap.add_argument("--high", type=float, default=None, help="default: CascadeConfig().high")
    ap.add_argument(
        "--quality-only",
        action="store_true",
        help="only the cross-validated quality and the demo-sample agreement (no timings)",
    )
    ap.add_argument(
        "--annotations",
        default=str(SHARED.parent / "labels" / "edu-annotations.jsonl"),
        help="judge labels: duplicates and semantic dedup on them (--quality-only)",
    )
    ap.add_argument("--cache-dir", default=None, help="train-classifier's embedding cache")
    args = ap.parse_args(argv)

    import torch

    from classifiers.cascade import cascade_predict
    from classifiers.config import CascadeConfig

    cfg = CascadeConfig()
    args.low = cfg.low if args.low is None else args.low
    args.high = cfg.high if args.high is None else args.high
    from classifiers.model import load_edu_model

    torch.set_num_threads(args.threads)
    if args.quality_only:
        model = load_edu_model(args.model)
        print("classifier quality (cross-validated on the judge labels, from meta.json)")
        print_quality(model.meta)
        if model.student is not None:
            demo = demo_agreement(model, args.low, args.high)
            print(f"  demo sample, keep decisions vs the teacher: {json.dumps(demo)}")
            for row in demo_bands(model):
                print(f"  demo sample, cascade {row}")
        if args.annotations and Path(args.annotations).exists():
            print(f"  labels: {json.dumps(label_report(args.annotations, args.cache_dir))}")
        return
    load0 = os.getloadavg()[0]
    texts = build_texts(args.docs)
    few = texts[: args.teacher_docs]
    model = load_edu_model(args.model)
    model.predict(few[:8])  # load + warm up
    teacher, t_teacher = timed(model.predict, few)

    qmodel = load_edu_model(args.model)
    qmodel.embedder(quantize=True)
    qmodel.predict(few[:8])
    q_scores, t_q = timed(qmodel.predict, few)

    # bfloat16 (what the classify stage uses by default where it is native)
    from classifiers.embed import native_bf16

    bmodel = load_edu_model(args.model)
    bmodel.embedder(bf16=True)
    bmodel.predict(few[:8])
    b_scores, t_b = timed(bmodel.predict, few)

    # the fast full-MiniLM option (EduSpec(pooling="first", quantize=True)): speed only here,
    # the head it needs is trained on first-window embeddings (quality: the model card)
    fmodel = load_edu_model(args.model)
    fmodel.spec.pooling, fmodel.spec.quantize = "first", True
    fmodel.predict(few[:8])
    _, t_first = timed(fmodel.predict, few)

    res: dict = {
        "inputs": f"{len(texts)} texts: 2,000-char windows of the shared C4 + CC samples, repeated",
        "threads": args.threads,
        # the 2 cores are shared: the 1-minute load average says how contended the run was
        "load_average_1min_before": round(load0, 2),
        "teacher_fp32_docs_per_s": round(len(few) / t_teacher, 1),
        "teacher_int8_docs_per_s": round(len(few) / t_q, 1),
        "teacher_int8_vs_fp32": agreement(teacher, q_scores),
        "teacher_int8_first_window_docs_per_s": round(len(few) / t_first, 1),
        "bf16_native": native_bf16("cpu"),
        "teacher_bf16_docs_per_s": round(len(few) / t_b, 1),
        "teacher_bf16_vs_fp32": agreement(teacher, b_scores),
    }
    if model.student is not None:
        _, t_cold = timed(model.student.predict, texts)
        _, t_student = timed(model.student.predict, texts)
        student_few = model.student.predict(few)
        cas_few = cascade_predict(model, few, args.low, args.high)
        t0 = time.perf_counter()
        cas = cascade_predict(model, texts, args.low, args.high)
        t_cas = time.perf_counter() - t0
        res.update(
            {
                "student": type(model.student).__name__,
                "student_cold_docs_per_s": round(len(texts) / t_cold, 1),
                "student_docs_per_s": round(len(texts) / t_student, 1),
                "student_vs_teacher": agreement(teacher, student_few),
                "cascade": {"low": args.low, "high": args.high},
                "cascade_docs_per_s": round(len(texts) / t_cas, 1),
                "cascade_share_to_teacher": round(float(cas.to_teacher.mean()), 4),
                "cascade_vs_teacher": agreement(teacher, cas_few.scores),
                "cross_validated_on_labels": model.meta.get("cv_cascade") or None,
                "demo_sample": demo_agreement(model, args.low, args.high),
            }
        )
    res["quality_cross_validated"] = {
        k: model.meta.get(k) for k in ("cv", "comparison", "learning_curve")
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "classifier.json").write_text(json.dumps(res, indent=1) + "\n")
    t = res["teacher_fp32_docs_per_s"]
    print(
        f"classifier bench ({res['inputs']}; torch threads {args.threads}; load average {load0:.1f})"
    )
    print(f"  teacher fp32      {t:8.1f} docs/s")
    print(
        f"  teacher int8      {res['teacher_int8_docs_per_s']:8.1f} docs/s  ({res['teacher_int8_docs_per_s'] / t:.1f}x; vs fp32 {res['teacher_int8_vs_fp32']})"
    )
    print(
        f"  teacher bf16      {res['teacher_bf16_docs_per_s']:8.1f} docs/s  (native: {res['bf16_native']}; vs fp32 {res['teacher_bf16_vs_fp32']})"
    )
    print(
        f"  teacher int8, first 256-token window only {res['teacher_int8_first_window_docs_per_s']:8.1f} docs/s"
    )
    if "student_docs_per_s" in res:
        s, c = res["student_docs_per_s"], res["cascade_docs_per_s"]
        print(
            f"  student           {s:8.1f} docs/s  (cold {res['student_cold_docs_per_s']:.0f}; {s / t:.0f}x teacher; vs teacher {res['student_vs_teacher']})"
        )
        print(
            f"  cascade [{args.low:g}, {args.high:g}) {c:8.1f} docs/s  ({c / t:.0f}x teacher; {res['cascade_share_to_teacher']:.1%} to teacher; vs teacher {res['cascade_vs_teacher']})"
        )
        print(f"  demo sample, keep decisions vs the teacher: {json.dumps(res['demo_sample'])}")
    print_quality(model.meta)
    print(f"  -> {RESULTS / 'classifier.json'}")


if __name__ == "__main__":
    main()
