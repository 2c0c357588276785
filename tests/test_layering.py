"""The layering is a contract: `lint-imports` (pyproject's [tool.importlinter]) must pass,
so a new upward import (corpus -> pipelines, classifiers -> synth, ray below pipelines)
fails the suite, not just `make lint`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    binary = Path(sys.executable).parent / "lint-imports"
    assert binary.exists(), "import-linter is missing: pip install -e '.[dev]'"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, not an installed copy
    proc = subprocess.run(
        [str(binary), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
