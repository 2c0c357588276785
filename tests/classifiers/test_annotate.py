"""The LLM-judge annotator: score parsing and `primer annotate` against a real local server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from classifiers.annotate import RUBRIC, annotate_records, build_messages, parse_score
from pipelines.cli import main
from synth.backends.openai_http import ChatClient
from synth.backends.stub_server import Reply, StubChatServer


@pytest.mark.parametrize(
    ("answer", "score"),
    [
        ("Clear explainer with examples.\nEducational score: 4", 4),
        ("educational score:3", 3),
        ("Reasoning... **Educational score:** 2", 2),
        ("I'd say score = 5/5 overall", 5),
        ("Early on it looks like 4/5 but on reflection: Educational score: 1", 1),
        ("This earns 3 out of 5 points.", 3),
        ("Some reasons.\n\n2", 2),
        ("Educational score: 0.", 0),
    ],
)
def test_parse_score_reads_the_verdict(answer, score):
    assert parse_score(answer) == score


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "",
        "I cannot rate this.",
        "Educational score: 7",
        "It has 12 sections and 3 pictures",
        "score: high",
    ],
)
def test_parse_score_never_guesses(answer):
    assert parse_score(answer) is None


def test_prompt_is_our_rubric_with_the_text_cut():
    messages = build_messages("x" * 5000)
    user = messages[-1]["content"]
    assert "x" * 2000 in user and "x" * 2001 not in user
    assert "Educational score: N" in user and user.startswith(RUBRIC.split("{text}")[0])


def judge(body, n):
    text = body["messages"][-1]["content"]
    if "GARBLED" in text:
        return Reply(content="Hmm, hard to say.")
    if "BROKEN" in text:
        return Reply(status=500)
    score = 4 if "photosynthesis" in text else 1
    return Reply(content=f"Because reasons.\nEducational score: {score}")


def write_inputs(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_annotate_records_keeps_raw_and_nulls_unparsed():
    recs = [
        {"id": "a", "text": "photosynthesis turns light into sugar"},
        {"id": "b", "text": "GARBLED page"},
        {"id": "c", "text": "buy now"},
    ]
    with StubChatServer(judge) as server:
        client = ChatClient(server.url, "judge", params={"temperature": 0})
        out = list(annotate_records(recs, client, batch_size=2))
    assert [o["score"] for o in out] == [4, None, 1]
    assert out[1]["raw"] == "Hmm, hard to say."
    assert all(
        o["model"] == "judge" and set(o) >= {"id", "text", "score", "raw", "model"} for o in out
    )


def test_cli_annotate_end_to_end_and_rerun_is_free(tmp_path):
    inp = tmp_path / "docs.jsonl"
    write_inputs(
        inp,
        [
            {"id": "1", "text": "photosynthesis in plants, explained step by step"},
            {"id": "2", "text": "cheap watches"},
            {"id": "3", "text": "BROKEN server for this one"},
        ],
    )
    out = tmp_path / "annotations.jsonl"
    args = [
        "annotate",
        "--input",
        str(inp),
        "--output",
        str(out),
        "--model",
        "judge",
        "--max-retries",
        "0",
    ]
    with StubChatServer(judge) as server:
        res = CliRunner().invoke(main, [*args, "--endpoint", server.url])
        assert res.exit_code == 0, res.output
        sent = len(server.requests)
        res2 = CliRunner().invoke(main, [*args, "--endpoint", server.url])
        assert res2.exit_code == 0, res2.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["score"] for r in rows] == [4, 1, None]
    assert rows[2]["error"].startswith("http-500")
    assert sent == 3 and len(server.requests) == 4  # rerun re-sent only the failure
    summary = json.loads(res2.output.strip().splitlines()[-1])
    assert summary["usage"]["cache_hits"] == 2 and summary["failed"] == 1


def test_annotate_on_shared_web_sample(shared_data, tmp_path):
    out = tmp_path / "a.jsonl"
    src = str(shared_data / "web" / "c4-en-sample.jsonl.gz")
    with StubChatServer(judge) as server:
        res = CliRunner().invoke(
            main,
            [
                "annotate",
                "--input",
                src,
                "--output",
                str(out),
                "--endpoint",
                server.url,
                "--model",
                "j",
                "--limit",
                "25",
            ],
        )
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 25 and all(r["score"] in (1, 4) for r in rows)
    assert rows[0]["id"] == "c4-0000"


def test_any_judge_object_will_do(tmp_path):
    """classifiers.annotate needs only the Judge protocol, not synth's HTTP client."""
    from dataclasses import dataclass

    from classifiers.annotate import annotate_file

    @dataclass
    class Answer:
        text: str | None
        model: str | None = "fake"
        error: str | None = None

    class FakeJudge:
        model = "fake"

        def complete(self, prompts):
            return [
                Answer("Educational score: 4")
                if "we teach" in p[1]["content"]
                else Answer(None, error="boom")
                for p in prompts
            ]

    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"id": "a", "text": "we teach"}\n{"id": "b", "text": "ads"}\n{"id": "c", "text": "x"}\n'
    )
    out = tmp_path / "out.jsonl"
    counts = annotate_file([str(inp)], str(out), FakeJudge(), limit=2)
    assert counts == {"scored": 1, "unparsed": 0, "failed": 1}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["score"], r["model"]) for r in rows] == [
        ("a", 4, "fake"),
        ("b", None, "fake"),
    ]
