"""``primer dedup``: MinHash near-duplicate removal alone, on any readable inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from pipelines.commands._common import config_option, set_option, user_errors

STAGE_ROWS = 50_000  # documents per staged Parquet file (one Ray read task each)


@click.command("dedup")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output", "-o", required=True, type=click.Path(file_okay=False), help="Output directory."
)
@click.option(
    "--against",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Output directory of an earlier `primer dedup` run: also drop near-duplicates of its kept documents (repeatable).",
)
@config_option
@set_option
@user_errors
def dedup(
    inputs: tuple[str, ...],
    output: str,
    against: tuple[str, ...],
    config_path: str | None,
    overrides: tuple[str, ...],
) -> None:
    """Remove near-duplicate documents (MinHash LSH, the config's `dedup` section).

    Reads INPUT files, globs or directories (jsonl[.gz|.zst], parquet, WARC/WET),
    writes the surviving documents to OUT/corpus/part-NNNNN.jsonl.zst, one row
    per dropped document to OUT/near_dups.parquet (uid, dup_cluster,
    duplicate_of, drop_reason), every multi-member cluster to
    OUT/clusters.parquet and the kept documents' band hashes to OUT/minhash/, so
    that a later run can use --against OUT. A document's uid is
    `<input file>#<record position>`.

    \b
    Example:
        primer dedup ../shared/data/web/*.jsonl.gz --output dedup-out
        primer dedup new-crawl/ --output dedup-new --against dedup-out --set dedup.verify=true
    """
    from corpus.readers.base import Record
    from corpus.readers.inputs import expand_inputs, read_path
    from pipelines import ray_backend as rb
    from pipelines.config import load_config
    from pipelines.near_dedup import near_dedup

    cfg = load_config(config_path, overrides)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    staged = out / "_input"
    shutil.rmtree(staged, ignore_errors=True)
    paths = expand_inputs(list(inputs))
    n_docs, n_rejects = 0, 0
    stager = _Stager(staged)
    for path in paths:
        for rec in read_path(path, max_record_bytes=cfg.reader.max_record_bytes):
            if isinstance(rec, Record):
                stager.add(str(path), rec)
                n_docs += 1
            else:
                n_rejects += 1
    files = stager.close()
    click.echo(
        f"read {n_docs} document(s) from {len(paths)} file(s), {n_rejects} unreadable record(s)"
    )
    rb.init(cfg.ray.address, cfg.ray.num_cpus, progress=cfg.ray.progress)
    decisions = near_dedup(files, out, cfg.dedup, against=[Path(a) for a in against])
    kept = _write_corpus(files, decisions, out / "corpus", cfg.shards.max_docs)
    shutil.rmtree(staged, ignore_errors=True)
    stats = json.loads((out / "near_dedup_stats.json").read_text())
    click.echo(
        f"near-duplicates: {stats['dropped']} dropped ({stats['dropped_for_earlier_corpus']} of an earlier corpus) "
        f"in {stats['clusters']} cluster(s); kept {kept}"
    )
    click.echo(f"corpus: {out / 'corpus'}  decisions: {decisions}")


class _Stager:
    """Writes records to Parquet files of ``STAGE_ROWS`` rows with the columns near_dedup reads."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.rows: dict[str, list] = self._empty()
        self.files: list[str] = []

    @staticmethod
    def _empty() -> dict[str, list]:
        return {k: [] for k in ("uid", "id", "source_file", "position", "text", "url", "metadata")}

    def add(self, source: str, rec) -> None:
        r = self.rows
        r["uid"].append(f"{source}#{rec.position}")
        r["id"].append(rec.id)
        r["source_file"].append(source)
        r["position"].append(rec.position)
        r["text"].append(rec.text)
        r["url"].append(rec.url)
        r["metadata"].append(json.dumps(rec.metadata, ensure_ascii=False, default=str))
        if len(r["uid"]) >= STAGE_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.rows["uid"]:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"part-{len(self.files):05d}.parquet"
        pq.write_table(pa.table(self.rows), path)
        self.files.append(str(path))
        self.rows = self._empty()

    def close(self) -> list[str]:
        self._flush()
        return self.files


def _write_corpus(files: list[str], decisions: Path, directory: Path, max_docs: int) -> int:
    """Survivors in input order to ``part-NNNNN.jsonl.zst``; returns how many."""
    import pyarrow.parquet as pq

    from corpus.writer import ShardedWriter

    dropped = set(pq.read_table(decisions, columns=["uid"]).column("uid").to_pylist())
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    kept = 0
    with ShardedWriter(directory, max_docs=max_docs) as writer:
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=4096):
                for row in batch.to_pylist():
                    if row["uid"] in dropped:
                        continue
                    meta = json.loads(row["metadata"]) if row["metadata"] else {}
                    if row["url"] is not None:
                        meta.setdefault("url", row["url"])
                    meta.setdefault("source_file", row["source_file"])
                    writer.write({"id": row["id"], "text": row["text"], "metadata": meta})
                    kept += 1
    return kept


commands = [dedup]
