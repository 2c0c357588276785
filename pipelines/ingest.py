"""Ingest one input shard: read it, run the per-document stages, write its decisions.

This is the unit of work and of resume (a shard is a file or, over ``reader.split_bytes``,
one part of it: ``pipelines.parts``). A shard's outputs appear under
``work/docs/<key>/`` only once all of it went through (temp dir, then rename),
and its completion marker is written last; a killed shard leaves only a temp
dir that the next attempt removes. No Ray here: ``pipelines.pipeline`` hands this
function to the Ray backend, and tests call it directly.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.dedup.candidates import with_minhash
from corpus.readers.base import Record, Reject
from corpus.stage import Batch, Stage
from corpus.tokens import TokenStage
from pipelines import ray_backend as rb
from pipelines.config import PipelineConfig
from pipelines.layout import Layout, file_fingerprint, shard_key, write_json_atomic
from pipelines.parts import Part

# Arrow types of the columns every shard has; stage-specific columns are inferred.
COLUMN_TYPES: dict[str, pa.DataType] = {
    "uid": pa.string(),
    "id": pa.string(),
    "source": pa.string(),
    "source_file": pa.string(),
    "position": pa.int64(),
    "url": pa.string(),
    "domain": pa.string(),
    "metadata": pa.string(),
    "text": pa.string(),
    "drop_stage": pa.string(),
    "drop_reason": pa.string(),
    "n_chars": pa.int64(),
    "n_tokens": pa.int64(),
    "lang": pa.string(),
    "lang_score": pa.float64(),
    "text_hash": pa.int64(),
    "profile": pa.string(),  # web or code (pipelines.profiles)
    # every measured filter value, so users re-threshold in SQL: quality['gopher_words']
    "quality": pa.map_(pa.string(), pa.float64()),
    "pii": pa.map_(pa.string(), pa.int64()),  # per-kind counts (corpus/pii.py)
    "toxicity": pa.float64(),
    "toxicity_max": pa.float64(),
    "toxic_words": pa.int64(),
    "edu_student": pa.float64(),  # the cascade student's score (classifiers.stage.StudentStage)
}


def build_stages(
    config: PipelineConfig, profile: str = "web", student: bool = False
) -> list[Stage]:
    """The per-document stages, in order. Global stages (dedup, classify) run later.

    ``student``: also score web documents with the cascade's student (``edu_student``),
    for the classify step (``pipelines.steps.classify.ingest_student``).
    """
    stages: list[Stage] = []
    if profile == "code":
        from corpus.filters.code import CodeFilterStage

        stages.append(CodeFilterStage(config.profiles.code.filters))
    elif config.filters.enabled:
        from corpus.filters.stage import FilterStage

        stages.append(FilterStage(config.filters))
    if config.decontam.active:
        from corpus.decontam import DecontamStage

        stages.append(DecontamStage(config.decontam))
    if config.pii.enabled:
        from corpus.pii import PiiStage

        stages.append(PiiStage(config.pii))
    if config.toxicity.enabled:
        from corpus.toxicity import ToxicityStage

        stages.append(ToxicityStage(config.toxicity))
    stages.append(TokenStage(config.tokenizer))
    if student and profile == "web":
        from classifiers.stage import StudentStage

        stages.append(StudentStage(config.classify))
    for stage in stages:
        stage.setup()
    return stages


@lru_cache(maxsize=4)
def _cached_stages(config_json: str, profile: str = "web", student: bool = False) -> list[Stage]:
    # Ray reuses worker processes: load fastText & co once per process, not per shard.
    return build_stages(PipelineConfig.model_validate_json(config_json), profile, student)


def to_table(batch: Batch) -> pa.Table:
    arrays, names = [], []
    for name, values in batch.items():
        typ = COLUMN_TYPES.get(name)
        arrays.append(pa.array(values, type=typ) if typ is not None else pa.array(values))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _rows(
    path: Path,
    key: str,
    records: Iterable[Record | Reject],
    rejects: list[dict],
    profile: str = "web",
) -> Iterator[dict]:
    from corpus.urls import domain
    from pipelines.remote import input_uri

    source_file = input_uri(path) or str(path)
    for item in records:
        if isinstance(item, Reject):
            rejects.append(
                {"source_file": source_file, "position": item.position, "error": item.error}
            )
            continue
        meta = item.metadata or {}
        yield {
            "uid": f"{key}/{item.position}",
            "id": item.id,
            "source": str(meta.get("source") or path.name),
            "source_file": source_file,
            "position": item.position,
            "url": item.url,
            "domain": domain(item.url) if item.url else None,
            "metadata": json.dumps(meta, ensure_ascii=False, default=str),
            "text": item.text,
            "drop_stage": None,
            "drop_reason": None,
            "profile": profile,
        }


def _batches(rows: Iterator[dict], size: int) -> Iterator[Batch]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield {k: [r[k] for r in chunk] for k in chunk[0]}
            chunk = []
    if chunk:
        yield {k: [r[k] for r in chunk] for k in chunk[0]}


def ingest_shard(
    path: Path,
    layout: Layout,
    config: PipelineConfig,
    read: Callable[[Path], Iterable[Record | Reject]] | None = None,
    part: Part | None = None,
    student: bool = False,
) -> dict[str, Any]:
    """Process one input file (or ``part`` of it, ``pipelines.parts``) completely; return
    its summary (also the marker's content). ``student``: see ``build_stages``.

    A part's documents get the same uids as unsplit (``<file key>/<position>``); only its
    work files and marker go under the part's own key.
    """
    from pipelines.profiles import profile_of

    part = part or Part(path)
    profile = profile_of(path, config.profile, config.profiles)
    # The web readers honour ``keep``; the code reader and a caller's are filtered below.
    own_reader = read is None and profile != "code"
    if read is None and profile == "code":
        from corpus.readers.code import read_code

        def read(p: Path) -> Iterable[Record | Reject]:
            fields = config.profiles.code.fields.fields()
            return read_code(p, fields, max_record_bytes=config.reader.max_record_bytes)

    if read is None:
        from corpus.readers.inputs import read_path

        def read(p: Path) -> Iterable[Record | Reject]:
            return read_path(
                p,
                max_record_bytes=config.reader.max_record_bytes,
                extractor=config.reader.extractor,
                text_field=config.reader.text_field,
                id_field=config.reader.id_field,
                keep=None if part.count == 1 else part.owns,
            )

    from pipelines.remote import input_uri

    records = read(path)
    if part.count > 1 and not own_reader:
        records = (r for r in records if part.owns(r.position))
    start = time.perf_counter()
    key, uid_key = part.key, shard_key(path)
    stages = _cached_stages(config.model_dump_json(), profile, student)
    student_tag = next((st.tag for st in stages if st.name == "edu-student"), None)
    final = layout.docs_dir(key)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    rejects: list[dict] = []
    n_docs = n_dropped = 0
    for i, batch in enumerate(
        _batches(_rows(path, uid_key, records, rejects, profile), config.reader.batch_size)
    ):
        for stage in stages:
            batch = stage.process(batch)
        n_docs += len(batch["uid"])
        n_dropped += sum(r is not None for r in batch["drop_reason"])
        table = to_table(batch)
        if student_tag:  # whose scores these are: classify uses them only for that model
            from classifiers.student_scores import STUDENT_TAG_KEY

            meta = {**(table.schema.metadata or {}), STUDENT_TAG_KEY: student_tag}
            table = table.replace_schema_metadata(meta)
        if config.dedup.enabled:
            table = with_minhash(table, config.dedup)
        pq.write_table(table, tmp / f"batch-{i:05d}.parquet", compression="zstd")

    rej_table = pa.Table.from_pylist(
        rejects,
        schema=pa.schema(
            [("source_file", pa.string()), ("position", pa.int64()), ("error", pa.string())]
        ),
    )
    rej_path = layout.rejects_file(key)
    rej_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rej_table, rej_path.with_name(rej_path.name + ".tmp"))
    os.replace(rej_path.with_name(rej_path.name + ".tmp"), rej_path)

    shutil.rmtree(final, ignore_errors=True)  # a finished-but-unmarked earlier attempt
    os.replace(tmp, final)
    summary = {
        "key": key,
        "path": input_uri(path) or str(path),
        "fingerprint": file_fingerprint(path),
        "n_docs": n_docs,
        "n_dropped": n_dropped,
        "n_rejects": len(rejects),
        "profile": profile,
        "seconds": round(time.perf_counter() - start, 3),
        "node_id": rb.node_id(),  # which Ray node did it (None in-process)
        **part.marker_fields(),
    }
    write_json_atomic(layout.marker(key), summary)
    return summary
