"""PII precision/recall on a planted set from real pages, and PII/toxicity throughput.

Planted set (reproducible, nothing stored): every page of ``../shared/data/web``
(C4 800 + raw CC 447). Seeded ``random.Random(seed)``: half of the pages get 1-4
planted items each, inserted between sentences: positives of every kind (e-mail,
phone in 6 formats, public IPv4/IPv6, Luhn-valid card numbers with issuer prefixes,
mod-97-valid IBANs of 6 countries, API keys of 6 formats) and hard negatives that
look alike (Luhn-invalid cards, IBANs with a wrong check, private IPs, version
numbers, ISBNs, dates, prices, 10-digit ids without separators). A detection is a
true positive when it overlaps a planted positive of its kind; detections on text that
was already in the page (found on the unplanted page) are reported apart, by kind, as
"natural" hits: those are real PII or false alarms in real text, listed for a person
to check (``--show``).

Throughput: ``PiiStage.process`` and ``ToxicityStage.process`` on the pages (batches of
512, CPU time of this process, best of ``--rounds``), against, in the same run, the
e-mail + public-IP subset datatrove's PIIFormatter covers (PII), and the word list
alone and whole-document model scoring (toxicity). Writes ``bench/results/safety.json``.

    nice .venv/bin/python -m bench safety

Measured (seed 0, 2 shared cores under heavy load, CPU time, best of 2): 1,076 planted PII
items + 388 look-alikes in the 1,247 pages: precision 1.000, recall 1.000 for every kind
(the planted formats were written by the same hand as the patterns, so read recall as
"the listed formats are covered"; a UK national number format missed at first was
added). Natural hits, checked by eye: 35/35 e-mails, 68 phone numbers (all real-looking
US/AU/UK/SE numbers), 2/2 IPs, 0 cards (3 false ones before the grouping rule: page
numbers "493 494 495 496 497 498" and a 15-digit id). Throughput: PII stage 1,411 docs/s
(3.9 MB/s) vs e-mail+IP only 5,014 docs/s (13.7 MB/s); toxicity stage 2,033 docs/s
(5.6 MB/s) vs word list + URL only 8,718 docs/s (23.8 MB/s) and the model on whole
documents 3,559 docs/s (9.7 MB/s). Default toxicity drops on the real pages: none (the
model alone would drop 5, all wrongly, see corpus/toxicity.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import re
import string
from pathlib import Path

from bench._timing import best_cpu
from corpus.pii import PiiConfig, PiiFinder, PiiStage, luhn_ok
from corpus.toxicity import ToxicityConfig, ToxicityStage, _model

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "web"
RESULTS = ROOT / "bench" / "results" / "safety.json"
SAMPLES = ("c4-en-sample.jsonl.gz", "cc-main-2019-30-sample.jsonl.gz")


def load_pages(root: Path = SHARED) -> list[dict]:
    pages = []
    for name in SAMPLES:
        with gzip.open(root / name, "rt", encoding="utf-8") as f:
            pages += [json.loads(line) for line in f if line.strip()]
    return pages


# --- planted items ------------------------------------------------------------


def _card(rng: random.Random, valid: bool) -> str:
    prefix, n = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(n - len(prefix) - 1))
    check = next(d for d in string.digits if luhn_ok(body + d))
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    digits = body + check
    sep = rng.choice([" ", "-", ""])
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _iban(rng: random.Random, valid: bool) -> str:
    country, n = rng.choice(
        [("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("ES", 20), ("IT", 23)]
    )
    if country == "GB" or country == "NL":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
        bban += "".join(rng.choice(string.digits) for _ in range(n - 4))
    elif country == "IT":
        bban = rng.choice(string.ascii_uppercase) + "".join(
            rng.choice(string.digits) for _ in range(n - 1)
        )
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(n))
    num = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    check = 98 - num % 97
    if not valid:
        check = (check + rng.randint(1, 50)) % 97 + 2
    s = f"{country}{check:02d}{bban}"
    return " ".join(s[i : i + 4] for i in range(0, len(s), 4)) if rng.random() < 0.5 else s


def _public_ipv4(rng: random.Random) -> str:
    import ipaddress

    while True:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global:
            return str(ip)


def _phone(rng: random.Random) -> str:
    d = lambda k: "".join(rng.choice(string.digits) for _ in range(k))  # noqa: E731
    a = str(rng.randint(2, 9)) + d(2)
    return rng.choice(
        [
            f"({a}) {d(3)}-{d(4)}",
            f"{a}-{d(3)}-{d(4)}",
            f"{a}.{d(3)}.{d(4)}",
            f"+1 {a} {d(3)} {d(4)}",
            f"+44 20 {d(4)} {d(4)}",
            f"+49 30 {d(3)} {d(4)}",
            f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}",
            f"020 {d(4)} {d(4)}",  # UK national format: not covered by the patterns
            f"1-800-{d(3)}-{d(4)}",
        ]
    )


def _api_key(rng: random.Random) -> str:
    an = string.ascii_letters + string.digits
    r = lambda k, al=an: "".join(rng.choice(al) for _ in range(k))  # noqa: E731
    return rng.choice(
        [
            "AKIA" + r(16, string.ascii_uppercase + string.digits),
            "ghp_" + r(36),
            "xoxb-" + r(11, string.digits) + "-" + r(24),
            "AIza" + r(35),
            "sk_live_" + r(24),
            "sk-proj-" + r(48),
        ]
    )


FIRST = ["anna", "john", "li", "maria", "pierre", "k.smith", "olu", "sara_b", "dev.ops", "m.rossi"]
DOMAINS = [
    "gmail.com",
    "yahoo.co.uk",
    "uni-bonn.de",
    "company.io",
    "mail.ru",
    "cs.mit.edu",
    "dept.gov.uk",
    "outlook.com",
]


def positive(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["email", "phone", "ip_address", "credit_card", "iban", "api_key"])
    if kind == "email":
        tag = rng.choice(["", "", "+news", ".work"])
        return kind, f"{rng.choice(FIRST)}{rng.randint(1, 99)}{tag}@{rng.choice(DOMAINS)}"
    if kind == "phone":
        return kind, _phone(rng)
    if kind == "ip_address":
        return (
            kind,
            _public_ipv4(rng)
            if rng.random() < 0.8
            else f"2a00:1450:{rng.randint(4000, 4099):x}::{rng.randint(1, 255):x}",
        )
    if kind == "credit_card":
        return kind, _card(rng, True)
    if kind == "iban":
        return kind, _iban(rng, True)
    return kind, _api_key(rng)


def negative(rng: random.Random) -> str:
    return rng.choice(
        [
            lambda: _card(rng, False),
            lambda: _iban(rng, False),
            lambda: f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            lambda: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            lambda: (
                f"version {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}"
            ),
            lambda: (
                f"ISBN 978-{rng.randint(0, 9)}-{rng.randint(10, 99)}-{rng.randint(100000, 999999)}-{rng.randint(0, 9)}"
            ),
            lambda: f"{rng.randint(1990, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            lambda: f"${rng.randint(1, 999)},{rng.randint(100, 999)}.{rng.randint(10, 99)}",
            lambda: "order " + "".join(rng.choice(string.digits) for _ in range(10)),
            lambda: f"{rng.randint(1, 12)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}",
        ]
    )()


def planted_set(pages: list[dict], seed: int = 0) -> list[dict]:
    """Pages with planted items: ``{"text", "planted": [(start, end, kind|None)]}``."""
    rng = random.Random(seed)
    out = []
    for page in pages:
        text = page["text"]
        planted: list[tuple[int, int, str | None]] = []
        if rng.random() < 0.5:
            cuts = sorted({m.end() for m in re.finditer(r"[.!?]\s", text)} | {len(text)})
            spots = sorted(rng.sample(cuts, min(len(cuts), rng.randint(1, 4))))
            pieces, last, shift = [], 0, 0
            for pos in spots:
                kind, item = positive(rng) if rng.random() < 0.75 else (None, negative(rng))
                lead = rng.choice(["Contact: ", "Reach us at ", "", "Ref ", "Details: "])
                ins = f" {lead}{item}. "
                pieces.append(text[last:pos])
                start = pos + shift + 1 + len(lead)
                planted.append((start, start + len(item), kind))
                pieces.append(ins)
                shift += len(ins)
                last = pos
            pieces.append(text[last:])
            text = "".join(pieces)
        out.append({"orig": page["text"], "text": text, "planted": planted})
    return out


def evaluate(finder: PiiFinder, docs: list[dict]) -> dict:
    """Per-kind TP/FP/FN on planted items; natural hits (already in the page) apart."""
    kinds = finder.kinds
    tp = dict.fromkeys(kinds, 0)
    fp = dict.fromkeys(kinds, 0)
    fn = dict.fromkeys(kinds, 0)
    natural: dict[str, list[str]] = {k: [] for k in kinds}
    for d in docs:
        natural_strings = {d["orig"][s:e] for s, e, _ in finder.find(d["orig"])}
        found = finder.find(d["text"])
        for s, e, kind in found:
            hit = [p for p in d["planted"] if p[0] < e and s < p[1]]
            if any(p[2] == kind for p in hit):
                tp[kind] += 1
            elif not hit and d["text"][s:e] in natural_strings:
                natural[kind].append(d["text"][s:e])
            else:
                fp[kind] += 1
        for ps, pe, pk in d["planted"]:
            if pk is not None and not any(k == pk and s < pe and ps < e for s, e, k in found):
                fn[pk] += 1
    per_kind = {}
    for k in kinds:
        p = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else 1.0
        r = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else 1.0
        per_kind[k] = {
            "tp": tp[k],
            "fp": fp[k],
            "fn": fn[k],
            "precision": round(p, 4),
            "recall": round(r, 4),
            "natural_hits": len(natural[k]),
        }
    T, F, N = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "precision": round(T / (T + F), 4) if T + F else 1.0,
        "recall": round(T / (T + N), 4) if T + N else 1.0,
        "per_kind": per_kind,
        "natural": natural,
    }


# --- throughput ----------------------------------------------------------------


def _batches(texts: list[str], urls: list[str | None], size: int = 512):
    for i in range(0, len(texts), size):
        yield {
            "text": texts[i : i + size],
            "url": urls[i : i + size],
            "drop_reason": [None] * len(texts[i : i + size]),
            "drop_stage": [None] * len(texts[i : i + size]),
        }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench safety")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--show", action="store_true", help="print the natural hits")
    args = ap.parse_args(argv)
    pages = load_pages()
    docs = planted_set(pages, args.seed)
    finder = PiiFinder(PiiConfig().kinds, PiiConfig().keep_email_domains)
    quality = evaluate(finder, docs)
    n_planted = sum(1 for d in docs for p in d["planted"] if p[2])
    n_neg = sum(1 for d in docs for p in d["planted"] if p[2] is None)
    print(f"planted: {n_planted} PII items, {n_neg} look-alike negatives in {len(docs)} pages")
    print(f"PII precision {quality['precision']:.3f} recall {quality['recall']:.3f}")
    for k, v in quality["per_kind"].items():
        print(
            f"  {k:12s} P {v['precision']:.3f} R {v['recall']:.3f} (tp {v['tp']} fp {v['fp']} "
            f"fn {v['fn']}); natural hits {v['natural_hits']}"
        )
    if args.show:
        for k, hits in quality["natural"].items():
            print(k, hits[:40])

    texts = [d["text"] for d in docs]
    urls = [p.get("url") for p in pages]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    stage = PiiStage(PiiConfig())
    subset = PiiFinder(["email", "ip_address"])
    tox = ToxicityStage(ToxicityConfig())
    tox.setup()
    words_only = ToxicityStage(ToxicityConfig(model=False))
    _model()(["warm up"])
    timings = {
        "pii_stage": best_cpu(
            lambda: [stage.process(b) for b in _batches(texts, urls)], args.rounds
        ),
        "pii_email_ip_only": best_cpu(lambda: [subset.redact(t) for t in texts], args.rounds),
        "toxicity_stage": best_cpu(
            lambda: [tox.process(b) for b in _batches(texts, urls)], args.rounds
        ),
        "toxicity_words_url_only": best_cpu(
            lambda: [words_only.process(b) for b in _batches(texts, urls)], args.rounds
        ),
        "toxicity_model_whole_docs": best_cpu(lambda: _model()(texts), args.rounds),
    }
    rates = {
        k: {"docs_per_s": round(len(texts) / v), "mb_per_s": round(mb / v, 2)}
        for k, v in timings.items()
    }
    for k, v in rates.items():
        print(f"{k:28s} {v['docs_per_s']:>7,} docs/s  {v['mb_per_s']:6.2f} MB/s")
    # what the default toxicity stage does to the real pages (no labels: counts only)
    flagged = {}
    for b in _batches([p["text"] for p in pages], urls):
        out = tox.process(b)
        for r in out["drop_reason"]:
            if r:
                flagged[r] = flagged.get(r, 0) + 1
    print(f"toxicity drops on the {len(pages)} real pages (default config): {flagged}")
    report = {
        "pages": len(docs),
        "planted_positive": n_planted,
        "planted_negative": n_neg,
        "seed": args.seed,
        "mb": round(mb, 2),
        "pii": {k: v for k, v in quality.items() if k != "natural"},
        "throughput": rates,
        "toxicity_drops_real_pages": flagged,
        "machine": platform.processor() or platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
