"""The funnel says "off" for a stage that did not run, and "0" only when it ran."""

from __future__ import annotations

import json

from corpus import ledger
from pipelines.config import load_config
from pipelines.ingest import ingest_shard
from pipelines.layout import Layout
from pipelines.pipeline import stages_off
from pipelines.steps import build_ledger, run_steps


def test_stages_off_follow_the_config():
    assert stages_off(load_config(), "all") == ["semantic-dedup"]  # off by default
    assert stages_off(load_config(None, ["dedup.semantic.enabled=true"]), "all") == []
    cfg = load_config(None, ["classify.enabled=false", "decontam.builtin=[]"])
    assert stages_off(cfg, "all") == ["decontam", "classify", "semantic-dedup"]
    assert stages_off(load_config(), "ingest") == ["near-dedup", "classify", "semantic-dedup"]
    cfg = load_config(None, ["filters.enabled=false", "dedup.semantic.enabled=true"])
    assert stages_off(cfg, "dedup") == ["langid", "quality", "classify", "semantic-dedup"]


def test_funnel_prints_off_for_stages_that_did_not_run(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "x", "text": "Click here."}) + "\n")
    layout = Layout(tmp_path / "out")
    cfg = load_config(None, ["decontam.enabled=false"])
    ingest_shard(src, layout, cfg)
    con = ledger.connect(layout.ledger)
    con.close()
    build_ledger(layout, steps=run_steps(cfg, layout, until="ingest"), off=["decontam", "classify"])
    con = ledger.connect(layout.ledger)
    rows = {r[0]: r[1] for r in con.execute(ledger.FUNNEL_DISPLAY_SQL).fetchall()}
    assert rows["decontam"] == "off" and rows["classify"] == "off"
    assert rows["exact-dedup"] == "0"  # ran: a number, even 0
    assert int(rows["langid"]) + int(rows["quality"]) == 1
    # Numbers stay numbers for SQL users; `primer index` (off=None) keeps what was recorded.
    con.close()
    build_ledger(layout)
    con = ledger.connect(layout.ledger)
    assert con.execute("SELECT dropped, ran FROM funnel WHERE stage = 'decontam'").fetchone() == (
        0,
        False,
    )
    con.close()
