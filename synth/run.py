"""``primer synth`` without the CLI: plan prompts, generate, gate, write, resume.

Layout under the output directory::

    OUT/synth/part-NNNNN.jsonl.zst      kept prose documents {id, text, metadata}
    OUT/synth/code-part-NNNNN.jsonl.zst kept code exercises (ingested by the code profile)
    OUT/synth-work/gates/part-NNNNN.jsonl  one gate decision per generated prompt
    OUT/synth-work/openai-journal.jsonl     the HTTP client's answer cache

Work goes in chunks of ``chunk_size`` prompts; each chunk writes its shard, then its
gate file, both atomically (temp file + rename). A prompt is finished when its id is
in a gate file, so a rerun (after a crash, or with a larger ``--n``) generates only
the rest; a shard whose gate file is missing is from an interrupted chunk and is
removed before resuming. Failed generations are recorded but not finished.
Code exercises go to their own shard so that ``primer run`` reads them with the code
profile (code filters, code edu model) and C4's line rules never touch their code;
each gate row and kept exercise carries its ``exec_status`` (``synth.exec``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.writer import JsonlWriter
from synth.backends.base import Backend
from synth.config import SynthConfig
from synth.gates import Gates
from synth.prompts import Prompt, plan_prompts, stored_text
from synth.topics import Topic


@dataclass
class SynthReport:
    planned: int = 0
    already_done: int = 0
    generated: int = 0
    kept: int = 0
    failed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    shards: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def make_backend(cfg: SynthConfig, work_dir: Path | None = None) -> Backend:
    if cfg.backend == "openai":
        from synth.backends.openai_backend import OpenAIBackend

        journal = work_dir / "openai-journal.jsonl" if work_dir else None
        return OpenAIBackend(cfg.openai, cache_path=journal)
    if cfg.backend == "vllm":
        from synth.backends.vllm_ray import VLLMBackend

        return VLLMBackend(cfg.vllm)
    from synth.backends.local_gguf import LocalGGUFBackend

    return LocalGGUFBackend(cfg.local)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    from corpus.readers.jsonl import open_binary

    with open_binary(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def finished(out: Path) -> tuple[set[str], int, list[dict[str, Any]]]:
    """Finished prompt ids, the next part number, and the kept records so far.

    Removes shards left by an interrupted chunk (no gate file) first.
    """
    synth_dir, gates_dir = out / "synth", out / "synth-work" / "gates"
    done: set[str] = set()
    next_part = 0
    for g in sorted(gates_dir.glob("part-*.jsonl")) if gates_dir.exists() else []:
        next_part = max(next_part, int(g.name.split("-")[1].split(".")[0]) + 1)
        for d in _read_jsonl(g):
            if not d.get("failed"):
                done.add(d["prompt_id"])
    kept: list[dict[str, Any]] = []
    for shard in sorted(synth_dir.glob("*part-*.jsonl.zst")) if synth_dir.exists() else []:
        gate = shard.name.removeprefix("code-").replace(".jsonl.zst", ".jsonl")
        if not (gates_dir / gate).exists():
            shard.unlink()
            continue
        kept.extend(_read_jsonl(shard))
    for tmp in (
        list(synth_dir.glob("*.tmp")) + list(gates_dir.glob("*.tmp")) if synth_dir.exists() else []
    ):
        tmp.unlink(missing_ok=True)
    return done, next_part, kept


def document(
    prompt: Prompt, text: str, backend: Backend, model: str, usage: dict, extra: dict
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": "synthetic",
        "topic": prompt.topic,
        "audience": prompt.audience,
        "format": prompt.format,
        "strategy": prompt.strategy,
        "backend": backend.name,
        "model": model,
        "seed": prompt.seed,
        "prompt_id": prompt.prompt_id,
        "usage": usage,
        **extra,
    }
    if prompt.format == "code_exercise":
        meta["lang"] = "python"  # the code filters' ast.parse check applies
    if prompt.stored_system:
        meta["system_prompt"] = prompt.stored_system  # erased: the strategy prompt is not kept
    return {"id": f"synth-{prompt.prompt_id}", "text": stored_text(prompt, text), "metadata": meta}


def run_synth(
    topics: Sequence[Topic],
    cfg: SynthConfig,
    out: str | Path,
    backend: Backend | None = None,
    gates: Gates | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> SynthReport:
    out = Path(out)
    work = out / "synth-work"
    (work / "gates").mkdir(parents=True, exist_ok=True)
    backend = backend or make_backend(cfg, work)
    gates = gates or Gates(cfg.gates, cfg.decontam)
    start = time.perf_counter()
    prompts = plan_prompts(
        topics, cfg.n, seed=cfg.seed, formats=cfg.formats, audiences=cfg.audiences
    )
    done, part, kept_before = finished(out)
    if kept_before:
        gates.near_dups.add(
            [r["metadata"]["prompt_id"] for r in kept_before], [r["text"] for r in kept_before]
        )
    todo = [p for p in prompts if p.prompt_id not in done]
    report = SynthReport(planned=len(prompts), already_done=len(prompts) - len(todo))
    usage_total: dict[str, int] = {}
    for c in range(0, len(todo), cfg.chunk_size):
        chunk = todo[c : c + cfg.chunk_size]
        gens = backend.generate([p.messages for p in chunk])
        ok = [i for i, g in enumerate(gens) if g.text is not None]
        decisions = gates.apply(
            [chunk[i].prompt_id for i in ok],
            [gens[i].text for i in ok],
            [chunk[i].format for i in ok],
        )
        by_row = dict(zip(ok, decisions, strict=True))
        name = f"part-{part:05d}"
        gate_rows = []
        code_docs: list[dict[str, Any]] = []
        with JsonlWriter(out / "synth" / f"{name}.jsonl.zst") as writer:
            for i, (p, g) in enumerate(zip(chunk, gens, strict=True)):
                for k, v in g.usage.items():
                    usage_total[k] = usage_total.get(k, 0) + int(v)
                row: dict[str, Any] = {
                    "prompt_id": p.prompt_id,
                    "format": p.format,
                    "audience": p.audience,
                }
                d = by_row.get(i)
                if d is None:
                    row.update(
                        failed=True, kept=False, drop_reason="generation-failed", error=g.error
                    )
                    report.failed += 1
                else:
                    row.update(
                        kept=d.kept,
                        drop_reason=d.drop_reason,
                        n_words=d.n_words,
                        n_tokens=d.n_tokens,
                        edu_score=d.edu_score,
                        decontam=d.decontam,
                        near_dup_of=d.near_dup_of,
                    )
                    if d.exec_status is not None:
                        row.update(exec_status=d.exec_status, exec_detail=d.exec_detail)
                    report.generated += 1
                    if d.kept:
                        extra = {"edu_score": d.edu_score, "n_tokens": d.n_tokens}
                        if d.exec_status is not None:
                            extra["exec_status"] = d.exec_status
                        doc = document(p, d.text, backend, g.model or backend.model, g.usage, extra)
                        if p.format == "code_exercise":
                            code_docs.append(doc)
                        else:
                            writer.write(doc)
                        report.kept += 1
                    else:
                        reason = (d.drop_reason or "").split(":")[0]
                        report.dropped[reason] = report.dropped.get(reason, 0) + 1
                gate_rows.append(row)
        if code_docs:
            with JsonlWriter(out / "synth" / f"code-{name}.jsonl.zst") as cw:
                for doc in code_docs:
                    cw.write(doc)
            report.shards.append(str(out / "synth" / f"code-{name}.jsonl.zst"))
        with JsonlWriter(work / "gates" / f"{name}.jsonl") as gw:
            for row in gate_rows:
                gw.write(row)
        report.shards.append(str(out / "synth" / f"{name}.jsonl.zst"))
        part += 1
        log(f"{name}: {sum(r['kept'] for r in gate_rows)}/{len(chunk)} kept")
    report.usage = usage_total
    report.seconds = round(time.perf_counter() - start, 2)
    return report
