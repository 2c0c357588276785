"""The driver learns there is no GPU without importing torch (it asks before ingest)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from classifiers import device


def test_no_gpu_driver_answers_without_torch():
    if not device._no_gpu_driver():
        pytest.skip("a GPU driver is loaded here")
    code = (
        "import sys; from classifiers.device import cuda_available;"
        "print(cuda_available(), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_visible_driver_defers_to_torch(monkeypatch):
    monkeypatch.setattr(device, "_no_gpu_driver", lambda: False)
    torch = pytest.importorskip("torch")
    assert device.cuda_available() == torch.cuda.is_available()
