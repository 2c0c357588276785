"""Where the classifier runs: CPU or GPU, its worker resources and threads.

Light on purpose (no torch until a GPU driver is there, no scikit-learn): the driver asks
before ingest whether an automatic cascade will run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from classifiers.config import ClassifyConfig
from corpus.stage import Resources


def _no_gpu_driver() -> bool:
    """True on Linux where no NVIDIA or ROCm driver is loaded: CUDA cannot be available, and
    importing torch just to ask costs ~2 s (the driver asks before ingest)."""
    if not sys.platform.startswith("linux"):
        return False
    return not (
        Path("/proc/driver/nvidia").exists()
        or Path("/dev/kfd").exists()
        or any(Path("/dev").glob("nvidia*"))
    )


def cuda_available() -> bool:
    if _no_gpu_driver():
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # a broken CUDA install must not stop a CPU run
        return False


def stage_resources(cfg: ClassifyConfig) -> Resources:
    """The classifier's worker resources (a GPU when there is one, unless configured)."""
    return Resources(
        cpus=cfg.cpus,
        gpus=cfg.gpus or (1.0 if cuda_available() else 0.0),
        concurrency=cfg.concurrency,
        batch_size=cfg.batch_size,
    )


def worker_device(resources: Resources, cfg: ClassifyConfig) -> str:
    """``cuda`` or ``cpu`` for this worker; on CPU, torch gets the configured threads."""
    device = "cuda" if resources.gpus > 0 and cuda_available() else "cpu"
    if device == "cpu":
        import torch

        torch.set_num_threads(cfg.torch_threads or max(1, int(cfg.cpus)))
    return device
