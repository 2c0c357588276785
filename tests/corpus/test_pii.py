"""PII detection and redaction: each kind, its look-alikes, the stage, and the ledger."""

from __future__ import annotations

import json

import duckdb
import pytest

from corpus.pii import PiiConfig, PiiFinder, PiiStage, iban_ok, luhn_ok

TEXT = (
    "Mail john.doe@gmail.com or docs@example.com. Call (415) 555-2671 or +44 20 7946 0958. "
    "Server 8.8.8.8, not 192.168.1.1 or version 1.2.3.4; v6 2a00:1450:4001::1. "
    "Card 4111 1111 1111 1111, not 4111 1111 1111 1112 nor 493 494 495 496. "
    "IBAN DE89 3704 0044 0532 0130 00, not DE88 3704 0044 0532 0130 00. "
    "Key AKIAIOSFODNN7EXAMPLE. In 2019-07-15, ISBN 978-3-16-148410-0 sold 1,000,000 copies."
)


def test_every_kind_found_and_look_alikes_left():
    finder = PiiFinder(keep_email_domains=["example.com"])
    text, counts = finder.redact(TEXT)
    assert counts == {
        "email": 1, "phone": 2, "ip_address": 2, "credit_card": 1, "iban": 1, "api_key": 1
    }  # fmt: skip
    assert "Mail <EMAIL> or docs@example.com" in text
    assert "Call <PHONE> or <PHONE>" in text
    assert "Server <IP_ADDRESS>, not 192.168.1.1 or version 1.2.3.4; v6 <IP_ADDRESS>" in text
    assert "Card <CREDIT_CARD>, not 4111 1111 1111 1112 nor 493 494 495 496" in text
    assert "IBAN <IBAN>, not DE88" in text and "Key <API_KEY>." in text
    assert "2019-07-15, ISBN 978-3-16-148410-0 sold 1,000,000" in text


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert not iban_ok("DE89370400440532013")  # DE IBANs have 22 characters


def test_private_key_block_and_tokens():
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----"
    text, counts = PiiFinder().redact(f"before\n{key}\nafter ghp_{'a1' * 18}")
    assert text == "before\n<API_KEY>\nafter <API_KEY>" and counts == {"api_key": 2}


def _batch(texts):
    n = len(texts)
    return {
        "text": list(texts),
        "drop_stage": [None] * n,
        "drop_reason": [None] * n,
        "text_hash": [1] * n,
    }


def test_stage_redacts_or_drops_and_counts_per_document():
    texts = ["write to a.b@uni.edu or c@uni.edu today", "nothing here", "dropped before"]
    batch = _batch(texts)
    batch["drop_stage"][2], batch["drop_reason"][2] = "quality", "short"
    out = PiiStage(PiiConfig()).process(batch)
    assert out["text"][0] == "write to <EMAIL> or <EMAIL> today"
    assert out["pii"] == [{"email": 2}, {}, None]
    assert out["text_hash"][0] != 1 and out["text_hash"][1] == 1  # redacted text re-hashed
    assert out["drop_reason"] == [None, None, "short"]

    out = PiiStage(PiiConfig(action="drop")).process(_batch(texts))
    assert out["drop_stage"][:2] == ["pii", None] and out["drop_reason"][0] == "pii:email"
    assert out["text"][0] == texts[0] and out["text_hash"][0] is None

    with pytest.raises(ValueError, match="unknown PII kinds"):
        PiiFinder(["email", "ssn"])


def test_ingest_puts_counts_in_the_ledger_and_the_funnel(tmp_path):
    """pii and toxicity run in the ingest chain; the ledger has their columns and funnel rows."""
    from corpus import ledger
    from pipelines.config import load_config
    from pipelines.ingest import ingest_shard
    from pipelines.layout import Layout
    from pipelines.steps import build_ledger, run_steps
    from tests.pipelines.conftest import _doc

    src = tmp_path / "in.jsonl"
    rows = [
        {
            "id": "p",
            "text": _doc(1, "fractions") + " Questions: jane.roe@school.org, 617-555-0134.",
        },
        {"id": "c", "text": _doc(2, "gravity")},
        {"id": "t", "text": _doc(3, "sound waves"), "url": "https://www.pornhub.com/view"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    layout = Layout(tmp_path / "out")
    cfg = load_config(None, ["dedup.enabled=false"])
    ingest_shard(src, layout, cfg)
    build_ledger(layout, steps=run_steps(cfg, layout, until="ingest"))
    con = ledger.connect(layout.ledger)
    got = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT id, pii, kept, drop_stage, drop_reason, toxicity IS NOT NULL, toxic_words "
            "FROM documents"
        ).fetchall()
    }
    assert got["p"][:2] == ({"email": 1, "phone": 1}, True)
    assert got["c"][:2] == ({}, True) and got["c"][4:] == (True, 0)
    assert got["t"][1:4] == (False, "toxicity", "toxicity:url")
    funnel = [r[0] for r in con.execute("SELECT stage FROM funnel ORDER BY ord").fetchall()]
    assert funnel.index("decontam") < funnel.index("pii") < funnel.index("toxicity")
    (text,) = (
        duckdb.connect()
        .execute(f"SELECT text FROM read_parquet('{layout.work}/docs/*/*.parquet') WHERE id = 'p'")
        .fetchone()
    )
    assert "<EMAIL>, <PHONE>." in text
    con.close()


@pytest.mark.shared
def test_planted_set_precision_recall(shared_data):
    """PII planted in the real web sample pages (bench/safety.py builds the set)."""
    from bench.safety import evaluate, load_pages, planted_set

    docs = planted_set(load_pages(shared_data / "web"), seed=1)
    result = evaluate(PiiFinder(PiiConfig().kinds, PiiConfig().keep_email_domains), docs)
    assert result["precision"] >= 0.97 and result["recall"] >= 0.9, result["per_kind"]


@pytest.mark.parametrize(
    "key",
    [
        "ASIA" + "Q" * 16,
        "gho_" + "a1" * 18,
        "ghu_" + "a1" * 18,
        "ghs_" + "a1" * 18,
        "ghr_" + "a1" * 18,
        "github_pat_" + "a" * 40,
        "xoxb-" + "1" * 12,
        "AIza" + "b" * 35,
        "sk_live_" + "c" * 24,
        "rk_test_" + "c" * 24,
        "sk-" + "d" * 32,
        "sk-proj-" + "d" * 32,
        "sk-ant-" + "d" * 32,
        "-----BEGIN EC PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END PGP PRIVATE KEY BLOCK-----",
    ],
)
def test_every_api_key_form_passes_the_literal_prefilter(key):
    # the speed guard (a hint substring before the regex) must never hide a key
    text, counts = PiiFinder().redact(f"the key {key} here")
    assert counts == {"api_key": 1} and key not in text
