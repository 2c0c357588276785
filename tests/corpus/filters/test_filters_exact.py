"""Exact-dedup hashing: what collides and what does not."""

from __future__ import annotations

import pytest

from corpus.filters.exact import exact_hash, normalize_for_exact

BASE = "The Battle of Hastings was fought in 1066, near the town of Hastings."


@pytest.mark.parametrize(
    "variant",
    [
        "the battle of hastings was fought in 1066, near the town of hastings.",  # case
        "THE BATTLE OF HASTINGS WAS FOUGHT IN 1066, NEAR THE TOWN OF HASTINGS.",
        "The  Battle of\nHastings was fought\tin 1066, near the town of Hastings.  ",  # space
        "The Battle of Hastings was fought in 1066 near the town of Hastings",  # punctuation
        "The Battle of Hastings -- was fought in 1066; near the town of Hastings!!!",
        "The Battle of Hastings was fought in 1067, near the town of Hastings.",  # digits
        "The Battle of Hastings was fought in 6, near the town of Hastings.",
        "Ｔｈｅ Battle of Hastings was fought in １０６６, near the town of Hastings.",  # NFKC
    ],
)
def test_variants_collide(variant):
    assert exact_hash(variant) == exact_hash(BASE)


@pytest.mark.parametrize(
    "other",
    [
        "The Battle of Hastings was fought in 1066, near the town of Battle.",
        "The Battle of Stamford Bridge was fought in 1066, near York.",
        "The Battle of Hastings was fought in 1066, near the town of Hastings. Again.",
        "TheBattle of Hastings was fought in 1066, near the town of Hastings.",  # word joined
    ],
)
def test_different_texts_differ(other):
    assert exact_hash(other) != exact_hash(BASE)


def test_normalisation_spelled_out():
    assert normalize_for_exact("  Hello,   WORLD!\n3.14 and 42_x  ") == "hello world 0 0 and 0 x"
    assert normalize_for_exact("") == ""


def test_hash_is_signed_int64_and_uses_the_whole_range():
    hashes = [exact_hash(f"document number {i} " + "x" * i) for i in range(200)]
    assert all(-(2**63) <= h < 2**63 for h in hashes)
    assert any(h < 0 for h in hashes) and any(h > 0 for h in hashes)
    assert len(set(hashes)) == len(hashes)


def test_fast_path_matches_the_regex_normalisation():
    import random

    from corpus.filters.exact import _normalize_str, _normalized_bytes

    rng = random.Random(0)
    alphabet = [chr(c) for c in range(128)] + ["00", "  ", "A1", "_9_", "\t\n"]
    other = list("éÉßİKΣσς٣９²Ⅻﬁ\u0307\xa0\u2003\u2028’—…•©東京") + ["\x85", "e\u0301", "\ud800"]
    texts = [
        "",
        " ",
        "0",
        "007",
        "a_b",
        "x 00 y",
        "\x0b\x1c\x1f\x7f",
        "".join(map(chr, range(128))),
    ]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 60))) for _ in range(3000)]
    texts += ["".join(rng.choices(alphabet + other * 3, k=rng.randint(1, 60))) for _ in range(5000)]
    for t in texts:
        assert _normalized_bytes(t) == _normalize_str(t).encode("utf-8"), repr(t)
