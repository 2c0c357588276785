"""``primer mix``: write a planned mixture as shuffled, deterministic ``jsonl.zst`` shards.

A global shuffle without loading the corpus, in two streaming passes on Ray:

1. *scatter*, one task per source shard: read the shard line by line, and for every
   planned copy of a line write the output record, with its random ``key``, to the
   bucket ``key % n_buckets`` (``work/scatter/<bucket>/<task>.parquet``);
2. *gather*, one task per bucket: sort the bucket's records by ``key`` and write them
   as ``corpus/part-<bucket>.jsonl.zst`` plus an index for the ``mix`` table.

One bucket holds about ``docs_per_part`` documents, so memory per task is one
shard's or one part's. Every file is written temp-then-rename and every task is
skipped when its output exists, so a killed mix resumes; the ``key`` order makes
two runs byte-identical. ``OUT/manifest.json`` is written last.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from corpus.stage import Resources
from corpus.writer import JsonlWriter
from pipelines import ray_backend as rb
from pipelines.layout import write_json_atomic
from pipelines.mix import format_plan, load_recipe, make_plan, plan_fingerprint

SCATTER_SCHEMA = pa.schema(
    [
        ("key", pa.uint64()),
        ("source", pa.string()),
        ("uid", pa.string()),
        ("id", pa.string()),
        ("epoch", pa.int64()),
        ("copy", pa.int64()),
        ("n_tokens", pa.int64()),
        ("edu_score", pa.float64()),
        ("record", pa.string()),
    ]
)


def _say(msg: str) -> None:
    print(f"[primer] {msg}", file=sys.stderr, flush=True)


def _write_parquet_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)


class _Scatter:
    """One source shard -> its planned records, by bucket (picklable for Ray)."""

    def __init__(self, work: str, n_buckets: int):
        self.work, self.n_buckets = Path(work), n_buckets

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        done = self.work / "scatter-done" / f"{item['task']}.json"
        if done.is_file():
            return json.loads(done.read_text())
        con = duckdb.connect()
        wanted: dict[int, list[tuple]] = defaultdict(list)
        for row in con.execute(
            "SELECT line, key, uid, id, epoch, copy, n_tokens, edu_score "
            "FROM read_parquet(?) WHERE source = ? AND shard = ?",
            [str(self.work / "plan.parquet"), item["source"], item["shard"]],
        ).fetchall():
            wanted[row[0]].append(row[1:])
        con.close()
        buckets: dict[int, list[dict]] = defaultdict(list)
        path = Path(item["path"])
        with path.open("rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as raw:
            import io

            for line_no, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8")):
                copies = wanted.pop(line_no, None)
                if copies is None:
                    continue
                doc = json.loads(line)
                if doc.get("id") != copies[0][2]:
                    raise RuntimeError(
                        f"{path}:{line_no + 1}: id {doc.get('id')!r} is not the ledger's "
                        f"{copies[0][2]!r} (corpus and corpus.duckdb out of step: rerun that run)"
                    )
                for key, uid, doc_id, epoch, copy, n_tokens, edu in copies:
                    meta = dict(doc.get("metadata") or {})
                    meta["mix_source"] = item["source"]
                    meta["mix_epoch"] = epoch
                    rec = {"id": doc_id, "text": doc["text"], "metadata": meta}
                    buckets[key % self.n_buckets].append(
                        {
                            "key": key,
                            "source": item["source"],
                            "uid": uid,
                            "id": doc_id,
                            "epoch": epoch,
                            "copy": copy,
                            "n_tokens": n_tokens,
                            "edu_score": edu,
                            "record": json.dumps(rec, ensure_ascii=False, separators=(",", ":")),
                        }
                    )
        if wanted:
            raise RuntimeError(f"{path}: {len(wanted)} planned line(s) missing (shard truncated?)")
        for b, rows in buckets.items():
            _write_parquet_atomic(
                pa.Table.from_pylist(rows, schema=SCATTER_SCHEMA),
                self.work / "scatter" / f"{b:05d}" / f"{item['task']}.parquet",
            )
        summary = {"task": item["task"], "records": sum(len(r) for r in buckets.values())}
        write_json_atomic(done, summary)
        return summary


class _Gather:
    """One bucket -> ``part-<bucket>.jsonl.zst`` in key order, and its index rows."""

    def __init__(self, out: str):
        self.out = Path(out)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        b = item["bucket"]
        part = self.out / "corpus" / f"part-{b:05d}.jsonl.zst"
        index = self.out / "work" / "index" / f"{b:05d}.parquet"
        if part.is_file() and index.is_file():
            return {"bucket": b, "skipped": True}
        files = sorted((self.out / "work" / "scatter" / f"{b:05d}").glob("*.parquet"))
        table = (
            pq.read_table([str(f) for f in files]) if len(files) > 1 else pq.read_table(files[0])
        )
        table = table.sort_by(
            [
                ("key", "ascending"),
                ("source", "ascending"),
                ("uid", "ascending"),
                ("epoch", "ascending"),
                ("copy", "ascending"),
            ]
        )
        with JsonlWriter(part) as w:
            for rec in table.column("record").to_pylist():
                w.write(json.loads(rec))
        idx = (
            table.drop_columns(["record", "key"])
            .append_column("part", pa.array([part.name] * table.num_rows))
            .append_column("line", pa.array(range(table.num_rows), pa.int64()))
        )
        _write_parquet_atomic(idx, index)
        return {"bucket": b, "skipped": False}


def _source_shards(plans, con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    items = []
    for source, shard in con.execute(
        "SELECT DISTINCT source, shard FROM entries ORDER BY 1, 2"
    ).fetchall():
        run = next(sp.run for sp in plans if sp.name == source)
        path = Path(run) / "corpus" / shard
        if not path.is_file():
            raise FileNotFoundError(f"source {source}: {path} is missing")
        items.append(
            {
                "source": source,
                "shard": shard,
                "path": str(path),
                "task": f"{source}--{shard.split('.')[0]}",
            }
        )
    return items


def run_mix(
    recipe_path: str | Path,
    out: str | Path,
    dry_run: bool = False,
    force: bool = False,
    ray_address: str | None = None,
    num_cpus: int | None = None,
) -> dict[str, Any]:
    """Plan (and unless ``dry_run``, write) the mixture; return the manifest (or the plan)."""
    recipe_path = Path(recipe_path)
    recipe, sha = load_recipe(recipe_path)
    out = Path(out)
    work = out / "work"
    manifest_path = out / "manifest.json"
    state = work / "state.json"
    if out.exists() and any(out.iterdir()) and not state.is_file() and not manifest_path.is_file():
        raise ValueError(f"{out} exists and is not a mix output; choose another --output")
    fresh = not out.exists() or not any(out.iterdir())
    tmp_dir = None if dry_run else work / "duckdb-tmp"
    try:
        plans, con = make_plan(recipe, recipe_path.parent, tmp_dir, entries=not dry_run)
    except Exception:
        if fresh:  # a recipe that cannot be planned leaves nothing behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    for sp in plans:
        if sp.capped:
            _say(
                f"warning: {sp.name} needs {sp.passes_needed:.2f} passes but max_epochs is "
                f"{sp.max_epochs:g}: {sp.planned_tokens:,} of {sp.target_tokens:,} tokens"
            )
    if dry_run:
        con.close()
        print(format_plan(plans, recipe.total_tokens))
        return {"plan": [sp.as_dict() for sp in plans]}

    fingerprint = plan_fingerprint(recipe, plans)
    same = state.is_file() and json.loads(state.read_text()).get("fingerprint") == fingerprint
    if same and not force and manifest_path.is_file():
        con.close()
        _say(f"mix: up to date ({manifest_path}); nothing to do")
        return json.loads(manifest_path.read_text())
    if force or not same:  # another recipe or changed sources: start over
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out / "corpus", ignore_errors=True)
        manifest_path.unlink(missing_ok=True)
        (out / "mix.duckdb").unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(state, {"fingerprint": fingerprint, "recipe_sha256": sha})

    n_entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    n_buckets = max(1, math.ceil(n_entries / recipe.docs_per_part))
    plan_file = work / "plan.parquet"
    if not plan_file.is_file():
        tmp = plan_file.with_name("plan.parquet.tmp")
        con.execute(
            f"COPY (SELECT * FROM entries ORDER BY source, shard, line) TO '{tmp}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        tmp.replace(plan_file)
    items = _source_shards(plans, con)
    buckets = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT (key % {n_buckets})::BIGINT FROM entries ORDER BY 1"
        ).fetchall()
    ]
    con.close()

    rb.init(ray_address, num_cpus, progress=False)
    _say(f"mix: {n_entries:,} document copies from {len(items)} shard(s) into {n_buckets} part(s)")
    rb.run_tasks(_Scatter(str(work), n_buckets), items, Resources(cpus=1))
    rb.run_tasks(_Gather(str(out)), [{"bucket": b} for b in buckets], Resources(cpus=1))
    return _finish(out, recipe, sha, plans, buckets)


def _finish(out: Path, recipe, sha: str, plans, buckets: list[int]) -> dict[str, Any]:
    """The ``mix`` table and the manifest, from the gathered index files; scatter files go."""
    work = out / "work"
    index = [str(work / "index" / f"{b:05d}.parquet") for b in buckets]
    db = out / "mix.duckdb"
    tmp = db.with_name("mix.duckdb.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.execute(
        f"CREATE TABLE mix AS SELECT part, line, source, epoch, copy, uid, id, n_tokens, "
        f"edu_score FROM read_parquet({index!r}) ORDER BY part, line"
    )
    per_source = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT source, sum(n_tokens), count(*), count(DISTINCT uid) FROM mix GROUP BY 1"
        ).fetchall()
    }
    sources = []
    for sp in plans:
        tokens, docs, unique = per_source.get(sp.name, (0, 0, 0))
        sources.append(
            {
                "name": sp.name,
                "run": sp.run,
                "where": sp.where,
                "share": sp.share,
                "target_tokens": sp.target_tokens,
                "tokens": int(tokens),
                "documents": int(docs),
                "unique_documents": int(unique),
                "passes": round(tokens / sp.available_tokens, 6),
                "max_epochs": sp.max_epochs,
                "capped": sp.capped,
            }
        )
    src_file = _dump(work / "sources.json", sources)
    con.execute(f"CREATE TABLE mix_sources AS SELECT * FROM read_json_auto('{src_file}')")
    con.close()
    tmp.replace(db)
    manifest = {
        "total_tokens": sum(s["tokens"] for s in sources),
        "target_tokens": recipe.total_tokens,
        "seed": recipe.seed,
        "recipe_sha256": sha,
        "sources": sources,
        "parts": [f"corpus/part-{b:05d}.jsonl.zst" for b in buckets],
    }
    write_json_atomic(out / "manifest.json", manifest)
    shutil.rmtree(work / "scatter", ignore_errors=True)  # the mixture's text, twice: not kept
    shutil.rmtree(work / "scatter-done", ignore_errors=True)
    shutil.rmtree(work / "duckdb-tmp", ignore_errors=True)
    _say(f"mix: {manifest['total_tokens']:,} tokens in {len(buckets)} part(s) -> {out / 'corpus'}")
    return manifest


def _dump(path: Path, data: Any) -> Path:
    write_json_atomic(path, data)
    return path
