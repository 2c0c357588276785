"""Which HTML main-text extractor: token F1 against hand-made gold, and pages/s.

Input: ``../shared/data/extraction/html-pages.warc.gz`` (300 real pages,
CleanEval 2007 + Dragnet news/blogs, as WARC responses) and ``gold.jsonl``
(their gold main text, joined on the WARC-Target-URI). Nothing is generated;
the run is reproducible as is:

    nice .venv/bin/python -m bench extraction                    # all candidates
    nice .venv/bin/python -m bench.extraction --limit 50 --only resiliparse

Score: bag-of-tokens F1 per page (lowercased ``\\w+`` tokens; precision =
shared tokens / extracted tokens, recall = shared / gold), averaged over pages
(macro). Gold markup (``URL:`` line, ``<p>``/``<h>``/``<l>``) is stripped first.
Throughput is pages/s of decode + extract on one core, single process, over
the same pages (so it includes the slow and the pathological ones). It also
times WARC parsing alone, FastWARC against warcio, on the same file.
Writes ``bench/results/extraction.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text

from corpus.extract import EXTRACTORS, clean_gold, decode_html, token_f1

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "extraction"
RESULTS = ROOT / "bench" / "results" / "extraction.json"


def load_pages(data: Path, limit: int | None = None) -> list[tuple[str, bytes, str | None, str]]:
    """``(url, html bytes, content type, cleaned gold)`` for every page that has gold."""
    gold = {}
    with open(data / "gold.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            gold[row["url"]] = clean_gold(row["gold"])
    pages = []
    with open(data / "html-pages.warc.gz", "rb") as stream:
        for rec in ArchiveIterator(stream, record_types=WarcRecordType.response):
            url = rec.headers.get("WARC-Target-URI")
            if url in gold:
                ctype = rec.http_headers.get("Content-Type") if rec.http_headers else None
                pages.append((url, rec.reader.read(), ctype, gold[url]))
            if limit and len(pages) >= limit:
                break
    return pages


def _trafilatura(**options: object) -> Callable[[str, str | None], str]:
    import trafilatura

    def run(html: str, url: str | None) -> str:
        return trafilatura.extract(html, url=url, include_comments=False, **options) or ""

    return run


def candidates() -> dict[str, Callable[[str, str | None], str]]:
    return {
        "resiliparse main (chosen options)": EXTRACTORS["resiliparse"],
        "resiliparse main (defaults)": lambda h, u: extract_plain_text(h, main_content=True),
        "resiliparse main comments=False": lambda h, u: extract_plain_text(
            h, main_content=True, comments=False
        ),
        "resiliparse full page (no main-content)": lambda h, u: extract_plain_text(h),
        "trafilatura (default)": _trafilatura(),
        "trafilatura favor_precision": _trafilatura(favor_precision=True),
        "trafilatura favor_recall": _trafilatura(favor_recall=True),
        "trafilatura fast (no fallback)": _trafilatura(fast=True),
    }


def evaluate(
    extract: Callable[[str, str | None], str], pages: list[tuple[str, bytes, str | None, str]]
) -> dict[str, float]:
    precisions, recalls, f1s, empty = [], [], [], 0
    elapsed = 0.0
    for url, body, ctype, gold in pages:
        start = time.perf_counter()
        try:
            text = extract(decode_html(body, ctype), url)
        except Exception:
            text = ""
        elapsed += time.perf_counter() - start
        empty += not text.strip()
        p, r, f = token_f1(text, gold)
        precisions.append(p)
        recalls.append(r)
        f1s.append(f)
    return {
        "f1": statistics.fmean(f1s),
        "median_f1": statistics.median(f1s),
        "precision": statistics.fmean(precisions),
        "recall": statistics.fmean(recalls),
        "empty_pages": empty,
        "pages_per_s": len(pages) / elapsed if elapsed else float("inf"),
    }


def warc_parsing(path: Path, repeat: int = 5) -> dict[str, dict[str, float]]:
    """Records/s and MB/s reading every response body: FastWARC vs warcio, same bytes in memory."""
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    data = path.read_bytes()

    def fastwarc_bodies() -> Iterator[bytes]:
        for rec in ArchiveIterator(io.BytesIO(data), record_types=WarcRecordType.response):
            yield rec.reader.read()

    def warcio_bodies() -> Iterator[bytes]:
        for rec in WarcioIterator(io.BytesIO(data)):
            if rec.rec_type == "response":
                yield rec.content_stream().read()

    out = {}
    for name, bodies in (("fastwarc", fastwarc_bodies), ("warcio", warcio_bodies)):
        start = time.perf_counter()
        n = size = 0
        for _ in range(repeat):
            for body in bodies():
                n += 1
                size += len(body)
        elapsed = time.perf_counter() - start
        out[name] = {"records_per_s": n / elapsed, "mb_per_s": size / elapsed / 1e6}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench extraction", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--only", default=None, help="substring of candidate names to run")
    args = parser.parse_args(argv)

    pages = load_pages(args.data, args.limit)
    print(f"{len(pages)} pages with gold from {args.data}")
    results = {}
    for name, fn in candidates().items():
        if args.only and args.only not in name:
            continue
        results[name] = evaluate(fn, pages)
        r = results[name]
        print(
            f"  {name:42s} F1 {r['f1']:.3f} (median {r['median_f1']:.3f}) "
            f"P {r['precision']:.3f} R {r['recall']:.3f} empty {r['empty_pages']:3d} "
            f"{r['pages_per_s']:7.1f} pages/s",
            flush=True,
        )
    parsing = warc_parsing(args.data / "html-pages.warc.gz")
    print("\nWARC parsing (iterate + read every response body, decompressing gzip):")
    for name, r in parsing.items():
        ratio = r["records_per_s"] / parsing["warcio"]["records_per_s"]
        print(
            f"  {name:10s} {r['records_per_s']:8.0f} records/s {r['mb_per_s']:6.0f} MB/s  x{ratio:.2f}"
        )
    base = results.get("resiliparse main (chosen options)")
    if base:
        print("\nrelative to resiliparse main (chosen options):")
        for name, r in results.items():
            print(
                f"  {name:42s} F1 {r['f1'] - base['f1']:+.3f}   "
                f"speed x{r['pages_per_s'] / base['pages_per_s']:.2f}"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"pages": len(pages), "results": results, "warc_parsing": parsing}, indent=2)
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
