"""Embedder precision choice: bfloat16 only where the hardware computes it natively."""

from __future__ import annotations


def test_bf16_only_where_native(monkeypatch, tmp_path):
    from classifiers import embed

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t: fpu avx2 avx512f\n")
    real = embed.Path
    monkeypatch.setattr(embed, "Path", lambda p: real(cpuinfo) if p == "/proc/cpuinfo" else real(p))
    assert not embed.native_bf16("cpu")
    cpuinfo.write_text("flags\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert embed.native_bf16("cpu")
