"""Boilerplate rule: documents that are a software licence (or another legal notice).

Licence texts (MIT, BSD, Apache, GPL, ...) are clean, well-punctuated English, so the
Gopher, C4 and FineWeb rules keep them, and an edu classifier scores their careful
prose 3-4. They teach nothing and repeat by the thousand across the web and code
dumps. Two measured values, so the cut can be re-thresholded in SQL:

- ``licence_phrases``: how many distinct licence signature phrases the text holds
  (phrases that occur only in licence texts, e.g. "permission is hereby granted, free
  of charge" or "redistributions of source code must retain");
- ``licence_term_share``: the share of its words that are legal terms (warranty,
  liability, licensor, herein, ...).

A document fails (``boilerplate_licence``) when it holds at least ``min_phrases`` (3)
signature phrases and at least ``min_term_share`` (2%) of its words are legal terms
(``licence_text`` is that share, 0 below ``min_phrases``): a README that quotes its
licence holds the phrases, but few of its words are legal terms, so it stays. Measured
on the demo sample and ../shared (web samples, 3,541 labelled texts): licence files have
3-14 phrases and 2.4-11% legal terms; no web or labelled text holds a single phrase.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress, repeat

from corpus.filters.config import BoilerplateConfig
from corpus.filters.rules import Check, TextView

# Lower-case, whitespace-normalised phrases that only licence texts use.
SIGNATURES = (
    # MIT / X11 / ISC
    "permission is hereby granted, free of charge",
    "the above copyright notice and this permission notice shall be included",
    'the software is provided "as is", without warranty of any kind',
    "permission to use, copy, modify, and/or distribute this software",
    # BSD
    "redistribution and use in source and binary forms, with or without modification",
    "redistributions of source code must retain the above copyright notice",
    "redistributions in binary form must reproduce the above copyright notice",
    "may be used to endorse or promote products derived from this software",
    "this software is provided by the copyright holders and contributors",
    # Apache 2.0
    "licensed under the apache license, version 2.0",
    "terms and conditions for use, reproduction, and distribution",
    "you may not use this file except in compliance with the license",
    "grant of copyright license",
    "grant of patent license",
    # GPL / LGPL / AGPL
    "this program is free software: you can redistribute it and/or modify",
    "this program is free software; you can redistribute it and/or modify",
    "this library is free software; you can redistribute it and/or",
    "without even the implied warranty of merchantability",
    "gnu general public license",
    "gnu lesser general public license",
    "everyone is permitted to copy and distribute verbatim copies",
    # MPL, PSF, Creative Commons legal code, Unlicense
    "this source code form is subject to the terms of the mozilla public license",
    "python software foundation license",
    "this is free and unencumbered software released into the public domain",
    "disclaimer of warranties and limitation of liability",
    "mozilla public license",
    "boost software license",
    "licensed to the apache software foundation",
)
_LEGAL = frozenset(
    [
        "license",
        "licence",
        "licensed",
        "licensee",
        "licensees",
        "licensor",
        "licensors",
        "licenses",
        "licences",
        "sublicense",
        "sublicensable",
        "copyright",
        "copyrights",
        "copyrighted",
        "warranty",
        "warranties",
        "merchantability",
        "infringement",
        "infringe",
        "liability",
        "liable",
        "damages",
        "indemnify",
        "indemnity",
        "redistribution",
        "redistributions",
        "redistribute",
        "herein",
        "hereby",
        "hereunder",
        "thereof",
        "therein",
        "whereof",
        "pursuant",
        "notwithstanding",
        "disclaimer",
        "disclaimed",
        "disclaims",
        "royalty",
        "royalty-free",
        "irrevocable",
        "perpetual",
        "non-exclusive",
        "worldwide",
        "tort",
        "contributor",
        "contributors",
    ]
)
_WORD_STRIP = ".,;:()[]\"'`*"


# Every signature phrase holds one of these words (tests check it): a text holding none
# of them holds no phrase, and ~86% of web pages hold none, so the 28 phrase searches
# run on few texts. The words hold no whitespace, so the lower-cased text answers as the
# whitespace-normalised one would.
_ANCHORS = (
    "licen", "software", "copyright", "permission", "warrant", "redistribution",
    "reproduction", "verbatim",
)  # fmt: skip


# Every legal term holds one of these (tests check it), and a counted word's lower case is
# a slice of the text's: texts without any (~85% of web pages) count no legal term.
_LEGAL_STEMS = (
    "licen", "copyright", "warrant", "merchantab", "infring", "liab", "damages", "indemn",
    "redistribut", "herein", "hereby", "hereunder", "whereof", "thereof", "therein",
    "pursuant", "notwithstanding", "disclaim", "royalt", "irrevocable", "perpetual",
    "non-exclusive", "worldwide", "tort", "contributor",
)  # fmt: skip


def measure(view: TextView, cfg: BoilerplateConfig) -> dict[str, float]:
    phrases = 0
    if any(a in view.lower for a in _ANCHORS):
        # whitespace runs as one space (str.split and re's \s agree on whitespace)
        flat = " ".join(view.lower.split())
        phrases = sum(1 for p in SIGNATURES if p in flat)
    words = view.words
    legal = 0
    if any(s in view.lower for s in _LEGAL_STEMS):
        # each distinct word tested once, in C (map with two iterables calls str.strip)
        counts = Counter(words)
        stripped = map(str.strip, map(str.lower, counts), repeat(_WORD_STRIP))
        legal = sum(compress(counts.values(), map(_LEGAL.__contains__, stripped)))
    share = legal / len(words) if words else 0.0
    return {
        "licence_phrases": float(phrases),
        "licence_term_share": share,
        # what the check reads: the term share of texts with enough signature phrases
        "licence_text": share if phrases >= cfg.min_phrases else 0.0,
    }


def checks(cfg: BoilerplateConfig) -> list[Check]:
    return [Check("boilerplate_licence", "licence_text", ">=", cfg.min_term_share)]
