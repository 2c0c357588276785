"""The in-process backend's group_map: every group once, whole, from blocks spilled to disk."""

from __future__ import annotations

import tempfile

import pyarrow as pa

from pipelines import inprocess


def test_group_map_sees_each_group_whole_across_blocks_and_schemas(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    blocks = [
        pa.table({"part": [2, 0, 2], "x": [1, 2, 3], "tag": pa.nulls(3)}),  # null-typed column
        pa.table({"part": [0, 1], "x": [4, 5], "tag": ["a", "b"]}),
        pa.table({"part": pa.array([], pa.int64()), "x": pa.array([], pa.int64())}),
    ]
    seen = []

    def fn(t: pa.Table) -> pa.Table:
        seen.append((t.column("part")[0].as_py(), sorted(t.column("x").to_pylist())))
        assert len(list(tmp_path.glob("primer-groups-*/*"))) == 4  # one file per key and schema
        return pa.table({"n": [t.num_rows]})

    out = inprocess.group_map(inprocess.Dataset(lambda: iter(blocks)), "part", fn).table()
    assert seen == [(0, [2, 4]), (1, [5]), (2, [1, 3])]
    assert out.column("n").to_pylist() == [2, 1, 2]
    assert list(tmp_path.iterdir()) == []  # the spill directory is gone
