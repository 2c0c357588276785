"""End-to-end fine-tuning of a small encoder on the judge labels (regression head), on CPU.

The shipped teacher keeps its encoder frozen; this module measures what
training the encoder itself buys, on the SAME folds as every other row of the
model card (``classifiers.train.fold_ids``). The model is the sentence-
transformer's transformer (mean pooling over the first ``max_seq_length``
tokens) plus one linear output, trained with MSE on the 0-5 label. As for the
frozen ensemble, the keep cut is balanced inside each training fold on random
web pages (``classifiers.heads.balanced_threshold`` on the training rows'
scores) and mapped to 3.0.

CPU cost decides what runs: ``--folds-to-run`` runs only some of the folds
(the others stay NaN in the out-of-fold array), and ``--time-only`` times one
epoch's first batches so a budget can be chosen before a long run.

    nice -n 15 python -m classifiers.finetune ../shared/data/labels/edu-annotations.jsonl \\
        --epochs 2 --max-seq-length 256 --folds-to-run 0 --out /tmp/ft
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from classifiers.heads import balanced_threshold, remap


@dataclass
class FinetuneConfig:
    encoder: str | None = None  # sentence-transformers directory; None: the bundled MiniLM
    max_seq_length: int = 256
    max_chars: int = 2000  # the judge read the first 2,000 characters
    epochs: int = 2
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.1  # share of steps with a linear warm-up
    seed: int = 0
    threads: int = 1


class Regressor:
    """Encoder + mean pooling + linear: text -> raw score (the label's scale)."""

    def __init__(self, cfg: FinetuneConfig) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        from classifiers.embed import resolve_model_path

        torch.manual_seed(cfg.seed)
        path = resolve_model_path(cfg.encoder)
        self.cfg = cfg
        self.tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.enc = AutoModel.from_pretrained(path, local_files_only=True)
        self.out = torch.nn.Linear(self.enc.config.hidden_size, 1)
        torch.nn.init.zeros_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)
        self.threshold_ = 3.0

    def _forward(self, texts: Sequence[str]):

        batch = self.tok(
            [t[: self.cfg.max_chars] for t in texts],
            truncation=True,
            max_length=self.cfg.max_seq_length,
            padding=True,
            return_tensors="pt",
        )
        hidden = self.enc(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.out(pooled).squeeze(-1) + 1.0  # start near the label mean

    def fit(self, texts: Sequence[str], y: np.ndarray, say=print, max_steps: int | None = None):
        import torch

        cfg = self.cfg
        torch.set_num_threads(cfg.threads)
        y = np.asarray(y, dtype=np.float32)
        rng = np.random.default_rng(cfg.seed)
        steps_per_epoch = -(-len(texts) // cfg.batch_size)
        total = steps_per_epoch * cfg.epochs if max_steps is None else max_steps
        opt = torch.optim.AdamW(
            [
                {"params": self.enc.parameters(), "lr": cfg.lr},
                {"params": self.out.parameters(), "lr": cfg.head_lr},
            ],
            weight_decay=0.01,
        )
        warm = max(1, int(cfg.warmup * total))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
        )
        self.enc.train()
        step, t0 = 0, time.perf_counter()
        for epoch in range(cfg.epochs):
            order = rng.permutation(len(texts))
            for b in range(steps_per_epoch):
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                pred = self._forward([texts[i] for i in idx])
                loss = torch.nn.functional.mse_loss(pred, torch.from_numpy(y[idx]))
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.enc.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                if step % 20 == 0:
                    el = time.perf_counter() - t0
                    say(f"  epoch {epoch} step {step}/{total} loss {loss.item():.3f} {el:.0f}s")
                if max_steps is not None and step >= max_steps:
                    return self
        return self

    def predict_raw(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch

        self.enc.eval()
        out = []
        with torch.inference_mode():
            for b in range(0, len(texts), batch_size):
                out.append(self._forward(texts[b : b + batch_size]).float().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def tune_cut(self, raw: np.ndarray, y: np.ndarray) -> None:
        """Balance precision and recall at >= 3 on these (training) rows."""
        self.threshold_ = balanced_threshold(np.asarray(y, float), raw)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.clip(remap(self.predict_raw(texts), self.threshold_), 0.0, 5.0)

    def size_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.enc.parameters()) + 4 * (
            self.out.weight.numel() + 1
        )


def cross_validate(
    texts: Sequence[str],
    y: np.ndarray,
    cfg: FinetuneConfig,
    folds: int = 5,
    run: Sequence[int] | None = None,
    tune_mask: np.ndarray | None = None,
    tune_docs: int | None = None,
    say=print,
) -> tuple[np.ndarray, dict]:
    """Out-of-fold scores on the ``fold_ids`` folds; folds not in ``run`` stay NaN.

    ``tune_docs``: balance the cut on a seeded sample of that many training rows
    (scoring every training row again costs a third of an epoch)."""
    from classifiers.train import fold_ids

    y = np.asarray(y, dtype=float)
    ids = fold_ids(y, folds)
    out = np.full(len(y), np.nan)
    info: dict = {"config": asdict(cfg), "folds": folds, "fold_seconds": {}}
    for k in run if run is not None else range(folds):
        t0 = time.perf_counter()
        tr, te = np.flatnonzero(ids != k), np.flatnonzero(ids == k)
        model = Regressor(cfg).fit([texts[i] for i in tr], y[tr], say=say)
        # the cut is balanced on the training rows' own scores (random web ones when known)
        tune = tr if tune_mask is None else tr[tune_mask[tr]]
        if tune_docs is not None and len(tune) > tune_docs:
            tune = np.sort(np.random.default_rng(k).choice(tune, tune_docs, replace=False))
        model.tune_cut(model.predict_raw([texts[i] for i in tune]), y[tune])
        out[te] = model.predict([texts[i] for i in te])
        info["fold_seconds"][int(k)] = round(time.perf_counter() - t0, 1)
        info["size_bytes"] = model.size_bytes()
        say(f"fold {k}: {info['fold_seconds'][int(k)]:.0f}s, cut {model.threshold_:.3f}")
    return out, info


def time_steps(texts: Sequence[str], y: np.ndarray, cfg: FinetuneConfig, steps: int = 5) -> float:
    """Seconds per training step (batch of ``cfg.batch_size``), after one warm-up step."""
    model = Regressor(cfg)
    model.fit(texts, y, say=lambda _: None, max_steps=1)
    t0 = time.perf_counter()
    model.fit(texts, y, say=lambda _: None, max_steps=steps)
    return (time.perf_counter() - t0) / steps


def main(argv: list[str] | None = None) -> None:
    from classifiers.train import load_annotations, subsets

    ap = argparse.ArgumentParser(
        prog="python -m classifiers.finetune",
        description="Fine-tune the encoder end to end on the judge labels, on the model card's folds.",
        epilog="example: python -m classifiers.finetune labels.jsonl --epochs 2 "
        "--folds-to-run 0 --out /tmp/ft",
    )
    ap.add_argument("annotations")
    ap.add_argument("--out", required=True, help="directory for oof.npy and result.json")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--folds-to-run", default="all", help="comma-separated fold ids, or 'all'")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-seq-length", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--tune-docs", type=int, default=None, help="training rows the cut is balanced on"
    )
    ap.add_argument("--time-only", action="store_true", help="print seconds per step and exit")
    a = ap.parse_args(argv)
    cfg = FinetuneConfig(
        max_seq_length=a.max_seq_length,
        epochs=a.epochs,
        batch_size=a.batch_size,
        lr=a.lr,
        threads=a.threads,
    )
    rows = load_annotations(a.annotations)
    texts = [r["text"] for r in rows]
    y = np.asarray([float(r["score"]) for r in rows])
    if a.time_only:
        per = time_steps(texts, y, cfg)
        n_train = len(texts) * (a.folds - 1) // a.folds
        epoch = per * -(-n_train // cfg.batch_size)
        print(
            f"{per:.2f}s per step of {cfg.batch_size}; one epoch on one fold ~{epoch / 60:.1f} min"
        )
        return
    masks = subsets(rows)
    run = None if a.folds_to_run == "all" else [int(k) for k in a.folds_to_run.split(",")]
    oof, info = cross_validate(texts, y, cfg, a.folds, run, masks.get("random web"), a.tune_docs)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "oof.tmp.npy", oof)
    (out / "oof.tmp.npy").replace(out / "oof.npy")
    (out / "result.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {out}/oof.npy ({int(np.isfinite(oof).sum())} documents scored)")


if __name__ == "__main__":
    main()
