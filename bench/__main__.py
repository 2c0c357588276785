"""``python -m bench [TOPIC [ARGS...]]``: run one benchmark with its arguments, or all of them.

Each topic module has ``main(argv)``, prints its report and writes
``bench/results/<topic>.json``. Figures are noisy on a 2-core machine (+-25%):
compare ratios measured in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    # ``python -m bench minhash --sizes 10000``: one topic with its arguments;
    # ``python -m bench``: every topic with its defaults.
    if argv:
        topics, args = argv[:1], argv[1:]
    else:
        topics = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name[0] != "_")
        args = []
    for topic in topics:
        print(f"\n=== bench/{topic}.py " + "=" * 50, flush=True)
        start = time.perf_counter()
        importlib.import_module(f"bench.{topic}").main(args)
        print(f"=== {topic}: {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
