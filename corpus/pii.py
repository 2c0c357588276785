"""PII: find e-mail addresses, phone numbers, IP addresses, payment cards, IBANs and API keys;
redact them with ``<EMAIL>``-style tokens or drop the document.

Published regexes narrowed by checksums and context, so that numbers in prose
(years, ISBNs, versions, prices) are not taken for PII: cards must pass Luhn and
start with a known issuer prefix, IBANs must pass ISO 13616 mod-97 with their
country's length, IPs must parse (``ipaddress``) and be public (as datatrove's
PIIFormatter: 127.0.0.1 or 10.0.0.1 identify no one), phone numbers need
separators and 10-15 digits. API keys: published prefixes (AWS, GitHub, Slack,
Google, Stripe, OpenAI) and PEM private-key blocks.

Adds ``pii`` (per-kind counts, ``{}`` when none, None for already-dropped rows)
to every live document; ``redact`` rewrites ``text`` (and its exact-dedup hash),
``drop`` marks documents with any PII ``drop_stage="pii"``, reason ``pii:<kind>``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from typing import ClassVar, Literal

from pydantic import Field

from corpus.config_base import Section
from corpus.stage import Batch, Resources, Stage, alive, batch_len, mark_dropped

KINDS = ("email", "phone", "ip_address", "credit_card", "iban", "api_key")
TOKENS = {k: f"<{k.upper()}>" for k in KINDS}


class PiiConfig(Section):
    enabled: bool = Field(True, description="scan documents for PII")
    action: Literal["redact", "drop"] = Field(
        "redact", description="redact: replace with <EMAIL>-style tokens; drop: drop the document"
    )
    kinds: list[str] = Field(list(KINDS), description=f"kinds to act on, of {', '.join(KINDS)}")
    keep_email_domains: list[str] = Field(
        ["example.com", "example.org", "example.net"],
        description="e-mail domains that identify no one (documentation examples)",
    )


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24})\b"
)
# +CC (AREA) NNN NNNN, NANP [1-](NNN) NNN-NNNN, or national 0NN(NN) NNNN NNNN (UK, FR...);
# separators required between groups, so ids and plain numbers do not match.
_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]\d{2,4}){1,4}"
    r"|(?:1[ .-])?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
    r"|(?<![0-9A-Z] )0\d{2,4} \d{3,4} \d{3,4}(?! \d))(?![\w.-]?\d)"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]?\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-]?\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_API_KEY = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|\bAIza[0-9A-Za-z_-]{35}"
    r"|\b[sr]k_(?:live|test)_[0-9A-Za-z]{24,}"
    r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"
    r"|-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY(?: BLOCK)?-----"
    r"[\s\S]*?-----END (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY(?: BLOCK)?-----"
)
# Literal text every _API_KEY alternative contains: one substring scan per hint rules a
# document out far faster than the alternation tried at every position (same matches).
_API_HINTS = (
    "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza",
    "k_live_", "k_test_", "sk-", "-----BEGIN ",
)  # fmt: skip
# Necessary conditions, searched first: most documents hold none, and a pattern whose
# first element is a character class (not a lookbehind or \b) is scanned for in C, far
# faster than the full pattern tried at every position. Each is implied by every span the
# full pattern + check accepts, so skipping a document without it finds the same spans.
_PHONE_HINT = re.compile(r"\d\d\d[ .-]\d\d\d")  # B and C hold it; A holds "+" + digit
_PLUS_DIGIT = re.compile(r"\+\d")
_IPV4_HINT = re.compile(r"\d\.\d\d?\d?\.\d")
# a card passing _card_ok is 13+ digits in a row or starts with a group of 4 then a separator
# and at least 4 more digits (4-4-..., 4-6-5, or 4 + the 9-15 digits left)
_CARD_HINT = re.compile(r"\d\d\d\d(?:[ -]\d\d\d\d|\d{9})")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")  # a literal first: found by a fast scan
_IBAN_HINT = re.compile(r"[A-Z][A-Z]\d\d ?[A-Z0-9]{4}")
_VERSION = re.compile(r"(?i)(?:version|release|v)\s?$")  # "version 1.2.3.4" is no address
# ISO 13616 lengths of the countries most often seen; others need 15-34 characters.
_IBAN_LEN = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SK": 24, "TR": 26,
}  # fmt: skip
# Issuer prefix -> allowed lengths (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay).
_CARD_RULES = (
    (re.compile(r"4"), (13, 16, 19)),
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]|7[01]|720)"), (16,)),
    (re.compile(r"3[47]"), (15,)),
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 19)),
    (re.compile(r"3(?:0[0-5]|[689])"), (14,)),
    (re.compile(r"35(?:2[89]|[3-8])"), (16, 19)),
    (re.compile(r"62"), (16, 19)),
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    s = candidate.replace(" ", "")
    want = _IBAN_LEN.get(s[:2])
    if (want is not None and len(s) != want) or not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _card_ok(m: str) -> bool:
    digits = re.sub(r"\D", "", m)
    groups = re.split(r"[ -]", m)
    # printed cards group digits by four (Amex 4-6-5): "493 494 495 496" is a list of numbers
    if len(groups) > 1 and [len(g) for g in groups[:-1]] not in ([4] * (len(groups) - 1), [4, 6]):
        return False
    ok_len = next((lens for pat, lens in _CARD_RULES if pat.match(digits)), ())
    return len(digits) in ok_len and luhn_ok(digits)


def _ip_ok(m: str) -> bool:
    if ":" in m and sum(c.isalnum() for c in m) < 6:  # "::a", "a::b" are not written addresses
        return False
    try:
        return ipaddress.ip_address(m).is_global
    except ValueError:
        return False


def _phone_ok(m: str) -> bool:
    digits = sum(c.isdigit() for c in m)
    return 10 <= digits <= 15


class PiiFinder:
    """Finds PII spans; ``redact`` returns the new text and per-kind counts."""

    def __init__(self, kinds: list[str] | tuple[str, ...] = KINDS, keep_email_domains=()):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown PII kinds: {sorted(unknown)}")
        self.kinds = tuple(k for k in KINDS if k in kinds)  # fixed order: earlier kinds win
        self.keep_domains = {d.lower() for d in keep_email_domains}

    def _spans(self, kind: str, text: str) -> list[tuple[int, int]]:
        out = []
        if kind == "email":
            if "@" not in text:
                return out
            for m in _EMAIL.finditer(text):
                if m.group(1).lower() not in self.keep_domains:
                    out.append(m.span())
        elif kind == "api_key":
            if any(h in text for h in _API_HINTS):
                out = [m.span() for m in _API_KEY.finditer(text)]
        elif kind == "iban":
            if _IBAN_HINT.search(text):
                out = [m.span() for m in _IBAN.finditer(text) if iban_ok(m.group())]
        elif kind == "credit_card":
            if _CARD_HINT.search(text):
                out = [m.span() for m in _CARD.finditer(text) if _card_ok(m.group())]
        elif kind == "ip_address":
            pats = (_IPV4,) if _IPV4_HINT.search(text) else ()
            if ":" in text and _IPV6_HINT.search(text):
                pats += (_IPV6,)
            for pat in pats:
                out += [
                    m.span()
                    for m in pat.finditer(text)
                    if _ip_ok(m.group())
                    and not _VERSION.search(text, max(0, m.start() - 9), m.start())
                ]
        elif kind == "phone" and (
            _PHONE_HINT.search(text) or ("+" in text and _PLUS_DIGIT.search(text))
        ):
            out = [m.span() for m in _PHONE.finditer(text) if _phone_ok(m.group())]
        return out

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, kind) spans, in text order; the first kind listed wins."""
        taken: list[tuple[int, int, str]] = []
        # most specific first: a key or IBAN contains digit runs a phone pattern would take
        for kind in ("api_key", "email", "iban", "credit_card", "ip_address", "phone"):
            if kind not in self.kinds:
                continue
            for s, e in self._spans(kind, text):
                if all(e <= ts or s >= te for ts, te, _ in taken):
                    taken.append((s, e, kind))
        return sorted(taken)

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        spans = self.find(text)
        if not spans:
            return text, {}
        parts, last = [], 0
        for s, e, kind in spans:
            parts.append(text[last:s])
            parts.append(TOKENS[kind])
            last = e
        parts.append(text[last:])
        return "".join(parts), dict(Counter(k for _, _, k in spans))


class PiiStage(Stage):
    name: ClassVar[str] = "pii"
    resources = Resources(cpus=1.0, batch_size=512)

    def __init__(self, config: PiiConfig | None = None):
        self.config = config or PiiConfig()
        self.finder = PiiFinder(self.config.kinds, self.config.keep_email_domains)

    def process(self, batch: Batch) -> Batch:
        from corpus.filters.exact import exact_hash

        n = batch_len(batch)
        texts = list(batch["text"])
        counts: list[dict[str, int] | None] = [None] * n
        hashes = batch.get("text_hash")
        dropped, why = [], []
        for i, ok in enumerate(alive(batch)):
            if not ok or not texts[i]:
                continue
            new, found = self.finder.redact(texts[i])
            counts[i] = found
            if not found:
                continue
            if self.config.action == "drop":
                dropped.append(i)
                why.append("pii:" + max(sorted(found), key=found.get))
            else:
                texts[i] = new
                if hashes is not None:
                    hashes[i] = exact_hash(new)  # exact dedup sees the redacted text
        mark_dropped(batch, dropped, self.name, why)
        if hashes is not None:
            for i in dropped:
                hashes[i] = None
        batch["text"] = texts
        batch["pii"] = counts
        return batch
