"""Words of many texts found and hashed in one NumPy pass: the runs of ``\\w`` characters.

A regex ``findall`` and a Python call per word were most of what word-level checks cost
on web text (decontamination's n-grams, the toxicity model's term counts). Here a batch
is one array of code points: word characters (``\\w`` of ``re``: ``str.isalnum`` or "_")
come from a table over all of Unicode, words from the edges of their runs, and a word's
hash mixes its length and its code points, three (21 bits each) per round, so most words
take one or two rounds. Equal words hash equally, whatever batch they come in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Words:
    """The words of many texts: text ``i`` owns ``[offsets[i], offsets[i + 1])``."""

    hashes: np.ndarray  # uint64 per word: equal words, equal hashes
    offsets: np.ndarray  # int64, one more than there are texts
    digit: np.ndarray  # bool per word: all digits (``str.isdigit``)
    length: np.ndarray  # int64 per word: its characters


@lru_cache(maxsize=1)
def _char_classes() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: a word character, a digit (~0.3 s, once per process; one character
    at a time, as a list of them all would hold ~80 MB until the process ends)."""
    n = 0x110000
    word = np.fromiter(map(str.isalnum, map(chr, range(n))), dtype=bool, count=n)
    word[ord("_")] = True
    return word, np.fromiter(map(str.isdigit, map(chr, range(n))), dtype=bool, count=n)


def _fmix64(x: np.ndarray) -> np.ndarray:
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return x


def hash_words(texts: Sequence[str], nfkc: bool = False, min_length: int = 1) -> Words:
    """The words (``re.findall(r"\\w+", ...)``) of every lower-cased text, hashed; with
    ``nfkc``, of the NFKC normal form; only words of ``min_length`` characters or more."""
    if nfkc:  # the quick check first: most non-ASCII web text is normalised already
        texts = [
            t if t.isascii() or unicodedata.is_normalized("NFKC", t)
            else unicodedata.normalize("NFKC", t)
            for t in texts
        ]  # fmt: skip
    low = [t.lower() for t in texts]
    joined = "\n".join(low) + "\n\0\0"  # newlines part the texts; padding for a round's reads
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word_char, digit_char = _char_classes()
    is_word = word_char[cp]
    edge = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    if is_word[0]:
        edge = np.concatenate(([0], edge))
    digit = np.logical_and.reduceat(digit_char[cp], edge)[0::2] if len(edge) else edge > 0
    starts, length = edge[0::2], edge[1::2] - edge[0::2]
    if min_length > 1:
        keep = length >= min_length
        starts, length, digit = starts[keep], length[keep], digit[keep]
    c = cp.astype(np.uint64)
    with np.errstate(over="ignore"):
        h = length.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        todo, k = np.arange(len(starts)), 0
        while len(todo):
            at, left = starts[todo] + k, length[todo] - k
            chunk = c[at] | (c[at + 1] * (left > 1)) << np.uint64(21)
            chunk |= (c[at + 2] * (left > 2)) << np.uint64(42)
            h[todo] = _fmix64(h[todo] ^ chunk)
            todo, k = todo[left > 3], k + 3
    text_start = np.cumsum([0] + [len(t) + 1 for t in low])
    offsets = np.searchsorted(starts, text_start).astype(np.int64)
    return Words(h, offsets, digit, length.astype(np.int64))
