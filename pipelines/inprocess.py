"""The Ray backend's operations run in this process, for runs too small to pay for Ray.

Starting Ray, its workers and one Ray Data execution per step costs tens of seconds
whatever the input; a 20-document run needs none of it. ``ray_backend`` delegates here
when ``init(local=True)``: the same operations, the same functions and stages, over
Arrow tables held in memory (so only for inputs that fit: ``ray.local_max_bytes``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc  # noqa: F401  (pa.ipc)
import pyarrow.parquet as pq

from corpus.stage import Batch, Stage


class Dataset:
    """Blocks (Arrow tables) produced on demand, like a lazy Ray dataset: map steps run as
    the consumer iterates, so ``iter_batches`` streams (and the progress line moves)."""

    def __init__(self, make: Callable[[], Iterable[pa.Table]]):
        self._make = make

    def blocks(self) -> Iterator[pa.Table]:
        return (b for b in self._make() if b.num_rows)

    def table(self) -> pa.Table | None:
        blocks = list(self.blocks())
        return pa.concat_tables(blocks, promote_options="default") if blocks else None


def _slices(ds: Dataset, size: int | None) -> Iterator[pa.Table]:
    """The dataset's rows in tables of ``size`` rows (blocks as they come for None),
    streaming: at most one block beyond a batch is held."""
    if size is None:
        yield from ds.blocks()
        return
    pending: list[pa.Table] = []
    n = 0
    for block in ds.blocks():
        pending.append(block)
        n += block.num_rows
        if n < size:
            continue
        table = pa.concat_tables(pending, promote_options="default")
        start = 0
        while table.num_rows - start >= size:
            yield table.slice(start, size)
            start += size
        rest = table.slice(start)
        pending, n = ([rest] if rest.num_rows else []), rest.num_rows
    if pending:
        yield pa.concat_tables(pending, promote_options="default")


def from_items(items: list[dict[str, Any]]) -> Dataset:
    return Dataset(lambda: (pa.Table.from_pylist([item]) for item in items))


def read_parquet(paths: list[str], columns: list[str] | None = None) -> Dataset:
    return Dataset(lambda: (pq.read_table(p, columns=columns) for p in paths))


def select_columns(ds: Dataset, columns: list[str]) -> Dataset:
    return Dataset(lambda: (b.select(columns) for b in ds.blocks()))


def write_parquet(ds: Dataset, path: str) -> None:
    os.makedirs(path, exist_ok=True)
    for i, block in enumerate(ds.blocks()):
        pq.write_table(block, Path(path) / f"part-{i:05d}.parquet")


def iter_batches(ds: Dataset, batch_size: int | None) -> Iterator[pa.Table]:
    yield from _slices(ds, batch_size)


def take_all(ds: Dataset) -> list[dict[str, Any]]:
    table = ds.table()
    return table.to_pylist() if table is not None else []


def map_stage(ds: Dataset, factory: Callable[[], Stage], batch_size: int) -> Dataset:
    def make() -> Iterator[pa.Table]:
        stage = factory()
        stage.setup()  # once, like one actor
        for t in _slices(ds, batch_size):
            yield pa.Table.from_pydict(stage.process(t.to_pydict()))

    return Dataset(make)


def map_batches(ds: Dataset, fn: Callable[[Batch], Batch], batch_size: int) -> Dataset:
    return Dataset(
        lambda: (pa.Table.from_pydict(fn(t.to_pydict())) for t in _slices(ds, batch_size))
    )


def map_tables(ds: Dataset, fn: Callable[[pa.Table], pa.Table], batch_size: int) -> Dataset:
    return Dataset(lambda: (fn(t) for t in _slices(ds, batch_size)))


def group_map(ds: Dataset, key: str, fn: Callable[[pa.Table], pa.Table]) -> Dataset:
    """``fn`` once per distinct ``key`` value, on all of that group's rows.

    Each block is split by key into one Arrow stream file per key in a temporary
    directory, and the groups are read back one at a time: memory is a block plus a
    group, not the whole dataset (near dedup's verify shuffles ~4 KB of shingles per
    candidate document, a GB at 1M documents).
    """

    def make() -> Iterator[pa.Table]:
        with tempfile.TemporaryDirectory(prefix="primer-groups-") as tmp:
            files: dict[Any, list[str]] = {}
            writers: dict[Any, tuple[pa.Schema, Any]] = {}
            try:
                for block in ds.blocks():
                    for k, rows in _split_by(block, key):
                        schema, w = writers.get(k, (None, None))
                        if w is not None and not rows.schema.equals(schema):
                            w.close()  # another schema (a null-typed column): a new file
                            w = None
                        if w is None:
                            path = os.path.join(tmp, str(sum(map(len, files.values()))))
                            files.setdefault(k, []).append(path)
                            w = pa.ipc.new_stream(path, rows.schema)
                            writers[k] = (rows.schema, w)
                        w.write_table(rows)
            finally:
                for _, w in writers.values():
                    w.close()
            for k in sorted(files):
                tables = []
                for f in files[k]:
                    with pa.OSFile(f) as src:
                        tables.append(pa.ipc.open_stream(src).read_all())
                yield fn(pa.concat_tables(tables, promote_options="default"))

    return Dataset(make)


def _split_by(table: pa.Table, key: str) -> Iterator[tuple[Any, pa.Table]]:
    """``(value, rows)`` per distinct value of ``table[key]``: one sort, then slices."""
    table = table.take(pc.sort_indices(table.column(key)))
    values = table.column(key).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]]).tolist()
    for start, end in zip(starts, [*starts[1:], len(values)], strict=True):
        yield values[start].item(), table.slice(start, end - start)


def union(ds: Dataset, *others: Dataset) -> Dataset:
    return Dataset(lambda: (b for d in (ds, *others) for b in d.blocks()))
