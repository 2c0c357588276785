"""Embedder precision choice: bfloat16 only where the hardware computes it natively."""

from __future__ import annotations

from classifiers.embed import native_bf16


def test_bf16_only_where_native(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t: fpu avx2 avx512f\n")
    assert not native_bf16("cpu", str(cpuinfo))
    cpuinfo.write_text("flags\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert native_bf16("cpu", str(cpuinfo))
