"""The embedded demo sample: real text that every install carries, as two real shards.

``make demo`` must run with no network and no ../shared, so the sample is
built from what the installed Python and packages ship, and committed:

* ``python-docs.warc.gz``: the 79 reference topics of the Python docs
  (``pydoc_data.topics``) as HTML pages with the same navigation/footer
  boilerplate on every page, in a WARC: exercises HTML extraction. Good
  textbook-like text.
* ``site-packages.jsonl.zst``: standard-library module docstrings (mixed:
  tutorials next to one-liners), the long descriptions of installed packages
  (READMEs: badges, changelogs, install notes) and their license files (many
  identical or near-identical MIT/BSD/Apache texts: natural exact and near
  duplicates).

``python -m pipelines.demo`` rebuilds both from the current environment.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import importlib.metadata as md
import io
import sys
from pathlib import Path

from corpus.writer import JsonlWriter

DEMO_DIR = Path(__file__).parent / "demo_data"

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} - Python documentation</title></head>
<body><div class="nav"><a href="/">Home</a> | <a href="/3/">Python 3 docs</a> | <a href="/3/reference/">Language reference</a>
| <a href="/3/search.html">Search</a></div>
<div class="sidebar"><h3>Navigation</h3><ul><li><a href="/3/genindex.html">index</a></li><li><a href="/3/py-modindex.html">modules</a></li></ul>
<p>Cookie settings: we use cookies to improve your experience.</p></div>
<div class="document"><div class="body" role="main"><h1>{title}</h1>
{body}
</div></div>
<div class="footer">&copy; Copyright 2001 Python Software Foundation. Found a bug? Report it. Last updated on Jan 01, 2025.</div>
</body></html>"""


def _paragraphs_to_html(text: str) -> str:
    out = []
    for block in text.strip().split("\n\n"):
        block = block.strip("\n")
        if not block.strip():
            continue
        if block.startswith("   "):  # indented: code or grammar
            out.append(f"<pre>{html.escape(block)}</pre>")
        else:
            out.append(f"<p>{html.escape(' '.join(block.split()))}</p>")
    return "\n".join(out)


def build_warc(dest: Path) -> int:
    from pydoc_data.topics import topics

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for name in sorted(topics):
        page = _PAGE.format(
            title=html.escape(name), body=_paragraphs_to_html(topics[name])
        ).encode()
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        url = f"https://docs.python.org/3/reference/topics/{name}.html"
        record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(page), http_headers=headers
        )
        writer.write_record(record)
    dest.write_bytes(buf.getvalue())
    return len(topics)


def _records():
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in {
            "antigravity",
            "this",
            "idlelib",
            "tkinter",
            "turtledemo",
        }:
            continue
        try:
            doc = importlib.import_module(name).__doc__
        except Exception:  # noqa: BLE001 - platform-specific modules
            continue
        if doc and len(doc) > 80:
            yield {
                "id": f"stdlib/{name}",
                "text": doc.strip(),
                "url": f"https://docs.python.org/3/library/{name}.html",
                "metadata": {"kind": "module-docstring"},
            }
    for dist in sorted(md.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = dist.metadata["Name"]
        body = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
        if name and len(body) > 200:
            yield {
                "id": f"pypi/{name}/description",
                "text": body.strip(),
                "url": f"https://pypi.org/project/{name}/",
                "metadata": {"kind": "package-description"},
            }
        for f in dist.files or []:
            if any(k in f.name.upper() for k in ("LICENSE", "COPYING")) and f.suffix in (
                "",
                ".txt",
                ".md",
                ".rst",
            ):
                try:
                    text = f.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                if len(text) > 200:
                    yield {
                        "id": f"pypi/{name}/{f.name}",
                        "text": text.strip(),
                        "url": None,
                        "metadata": {"kind": "license"},
                    }


def build_jsonl(dest: Path) -> int:
    seen: set[str] = set()
    n = 0
    with JsonlWriter(dest) as w:
        for rec in _records():
            if rec["id"] in seen:
                continue
            seen.add(rec["id"])
            w.write(rec)
            n += 1
    return n


def sample_paths() -> list[Path]:
    return [DEMO_DIR / "python-docs.warc.gz", DEMO_DIR / "site-packages.jsonl.zst"]


def main() -> None:
    DEMO_DIR.mkdir(exist_ok=True)
    n_pages = build_warc(DEMO_DIR / "python-docs.warc.gz")
    n_docs = build_jsonl(DEMO_DIR / "site-packages.jsonl.zst")
    for p in sample_paths():
        print(p, p.stat().st_size, hashlib.sha1(p.read_bytes()).hexdigest()[:10])
    print(f"{n_pages} pages, {n_docs} records")


if __name__ == "__main__":
    main()
