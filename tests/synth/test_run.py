"""``primer synth`` end to end on the openai backend against a real local server: output
records, gate decisions, resume, failures; the vllm backend's testable parts."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest
import zstandard
from click.testing import CliRunner

from pipelines.cli import main
from synth.backends.base import BackendUnavailable
from synth.backends.stub_server import Reply, StubChatServer
from synth.backends.vllm_ray import (
    VLLMBackend,
    missing_runtime,
    processor_config_kwargs,
    rows_from_prompts,
    sampling_params,
)
from synth.config import SynthConfig, VLLMConfig
from synth.gates import Gates
from synth.run import run_synth
from synth.topics import Topic

VOCAB = [
    "energy",
    "matter",
    "force",
    "motion",
    "cell",
    "gene",
    "river",
    "mountain",
    "equation",
    "number",
    "proof",
    "variable",
    "loop",
    "function",
    "array",
    "history",
    "empire",
    "trade",
    "language",
    "grammar",
    "music",
    "rhythm",
    "climate",
    "ocean",
    "star",
    "planet",
    "atom",
    "molecule",
    "reaction",
    "market",
    "price",
    "vote",
    "law",
    "court",
    "map",
    "island",
    "forest",
    "bird",
]


def writer(body, n):
    """A stand-in author: a distinct, deterministic 120-word text per prompt."""
    prompt = body["messages"][-1]["content"]
    if "FAILME" in prompt:
        return Reply(status=500)
    rng = random.Random(hashlib.md5(prompt.encode()).hexdigest())
    if "Output only Python code" in prompt:  # a code exercise that passes its doctest
        n, words = rng.randrange(1000), " ".join(rng.choice(VOCAB) for _ in range(30))
        code = (
            f'def shift(x: int) -> int:\n    """Add {n} to x: {words}.\n\n'
            f'    >>> shift(1)\n    {n + 1}\n    """\n    return x + {n}\n'
        )
        return Reply(content="Sure! Here is the section:\n\n" + code)
    sentences = [
        " ".join(rng.choice(VOCAB) for _ in range(12)).capitalize() + "." for _ in range(10)
    ]
    return Reply(content="Sure! Here is the section:\n\n" + " ".join(sentences))


def read_zst(path):
    with zstandard.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def config(server_url, **kw):
    cfg = SynthConfig(n=kw.pop("n", 6), chunk_size=kw.pop("chunk_size", 4), seed=1)
    cfg.openai.endpoint = server_url
    cfg.openai.model = "stub-llm"
    cfg.openai.max_retries = 0
    cfg.backend = "openai"
    cfg.gates.min_words = 20
    return cfg


TOPICS = [Topic("fractions"), Topic("volcanoes"), Topic("recursion")]


def gates_for(cfg):
    return Gates(cfg.gates, cfg.decontam, scorer=lambda texts: np.full(len(texts), 3.5))


def test_documents_metadata_and_gate_files(tmp_path):
    with StubChatServer(writer) as server:
        cfg = config(server.url)
        report = run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
    assert report.planned == 6 and report.kept == 6 and report.failed == 0
    shards = sorted((tmp_path / "synth").glob("part-*.jsonl.zst"))
    assert [s.name for s in shards] == ["part-00000.jsonl.zst", "part-00001.jsonl.zst"]
    docs = [d for s in shards for d in read_zst(s)]
    assert len(docs) == 6 and len({d["id"] for d in docs}) == 6
    meta = docs[0]["metadata"]
    assert (
        meta["source"] == "synthetic"
        and meta["backend"] == "openai"
        and meta["model"] == "stub-llm"
    )
    assert set(meta) >= {
        "topic",
        "audience",
        "format",
        "strategy",
        "seed",
        "prompt_id",
        "usage",
        "edu_score",
        "n_tokens",
    }
    assert meta["usage"]["completion_tokens"] > 0 and meta["edu_score"] == 3.5
    assert all(not d["text"].startswith("Sure") for d in docs)  # cleaned
    reasoning = [d for d in docs if d["metadata"]["format"] == "reasoning"]
    for d in reasoning:
        assert (
            d["metadata"]["system_prompt"]
            == "You are a helpful assistant. Answer the user's question carefully."
        )
        assert "Question:" in d["text"]
    gates = [
        json.loads(x)
        for g in sorted((tmp_path / "synth-work" / "gates").glob("*.jsonl"))
        for x in g.read_text().splitlines()
    ]
    assert len(gates) == 6 and all(g["kept"] for g in gates)
    assert report.usage["completion_tokens"] == sum(
        d["metadata"]["usage"]["completion_tokens"] for d in docs
    )


def test_resume_skips_finished_prompts_and_grows_with_n(tmp_path):
    with StubChatServer(writer) as server:
        cfg = config(server.url)
        run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
        sent = len(server.requests)
        again = run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
        assert len(server.requests) == sent and again.already_done == 6 and again.kept == 0
        cfg.n = 9
        more = run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
        # Three new prompts, no journal hits needed: the finished ones were never re-sent.
        assert len(server.requests) == sent + 3 and more.kept == 3
    ids = [d["id"] for s in sorted((tmp_path / "synth").glob("*.zst")) for d in read_zst(s)]
    assert len(ids) == 9 == len(set(ids))


def test_interrupted_chunk_is_redone(tmp_path):
    with StubChatServer(writer) as server:
        cfg = config(server.url)
        run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
        # Simulate a crash between writing the last shard and its gate file.
        (tmp_path / "synth-work" / "gates" / "part-00001.jsonl").unlink()
        (tmp_path / "synth-work" / "openai-journal.jsonl").unlink()
        sent = len(server.requests)
        report = run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
    assert report.already_done == 4 and report.kept == 2 and len(server.requests) == sent + 2
    ids = [d["id"] for s in sorted((tmp_path / "synth").glob("*.zst")) for d in read_zst(s)]
    assert len(ids) == 6 == len(set(ids))


def test_failed_generations_are_recorded_and_retried_later(tmp_path):
    topics = [Topic("fractions"), Topic("FAILME topic")]
    with StubChatServer(writer) as server:
        cfg = config(server.url, n=4)
        report = run_synth(topics, cfg, tmp_path, gates=gates_for(cfg))
        assert report.failed == 2 and report.kept == 2
        report2 = run_synth(topics, cfg, tmp_path, gates=gates_for(cfg))
    assert report2.already_done == 2 and report2.failed == 2
    rows = [
        json.loads(x)
        for g in (tmp_path / "synth-work" / "gates").glob("*.jsonl")
        for x in g.read_text().splitlines()
    ]
    failed = [r for r in rows if r.get("failed")]
    assert failed and all(r["error"].startswith("http-500") for r in failed)


def test_near_dups_across_a_resume_are_dropped(tmp_path):
    same = lambda body, n: Reply(content=" ".join(VOCAB) + ". " + " ".join(reversed(VOCAB)) + ".")  # noqa: E731
    with StubChatServer(same) as server:
        cfg = config(server.url, n=2, chunk_size=1)
        report = run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
        assert report.kept == 1 and report.dropped == {"near-dup": 1}
        cfg.n = 3
        report = run_synth(TOPICS, cfg, tmp_path, gates=gates_for(cfg))
    assert report.kept == 0 and report.dropped == {"near-dup": 1}


def test_cli_synth_openai_with_decontam(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    leak = "Compute the number of ways to tile a two by n board with dominoes and explain the recurrence you use"
    (bench / "toybench.jsonl").write_text(json.dumps({"question": leak}) + "\n")
    topics = tmp_path / "topics.yaml"
    topics.write_text("- fractions\n- topic: dominoes\n  audience: college\n")

    def leaky(body, n):
        if "dominoes" in body["messages"][-1]["content"]:
            return Reply(content=leak + ". " + " ".join(VOCAB) + ".")
        return writer(body, n)

    with StubChatServer(leaky) as server:
        res = CliRunner().invoke(
            main,
            [
                "synth",
                "--topics",
                str(topics),
                "--n",
                "4",
                "--backend",
                "openai",
                "--endpoint",
                server.url,
                "--model",
                "stub",
                "--benchmarks",
                str(bench),
                "--no-edu",
                "--output",
                str(tmp_path / "out"),
                "--set",
                "synth.gates.min_words=10",
            ],
        )
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{") :])
    assert report["kept"] == 2 and report["dropped"] == {"contaminated": 2}


def test_cli_dedup_against_a_corpus(tmp_path):
    topics = tmp_path / "topics.yaml"
    topics.write_text("- fractions\n- volcanoes\n")
    with StubChatServer(writer) as server:
        # The corpus already holds what the server will write for the first prompt.
        from synth.prompts import plan_prompts
        from synth.topics import load_topic_file

        p0 = plan_prompts(load_topic_file(topics), 1, seed=0)[0]
        text = writer({"messages": p0.messages}, 0).content.split("\n\n", 1)[1]
        corpus = tmp_path / "corpus.jsonl"
        corpus.write_text(json.dumps({"id": "web-1", "text": text}) + "\n")
        res = CliRunner().invoke(
            main,
            [
                "synth",
                "--topics",
                str(topics),
                "--n",
                "2",
                "--backend",
                "openai",
                "--seed",
                "0",
                "--endpoint",
                server.url,
                "--model",
                "stub",
                "--no-edu",
                "--output",
                str(tmp_path / "out"),
                "--dedup-against",
                str(corpus),
                "--set",
                "synth.gates.min_words=10",
            ],
        )
    assert res.exit_code == 0, res.output
    report = json.loads(res.output[res.output.index("{") :])
    assert report["kept"] == 1 and report["dropped"] == {"near-dup": 1}
    gates = (tmp_path / "out" / "synth-work" / "gates" / "part-00000.jsonl").read_text()
    assert "near-dup:corpus:web-1" in gates


def test_builtin_topics_are_the_default():
    from synth.topics import DEFAULT_TOPICS, load_topic_file

    topics = load_topic_file(DEFAULT_TOPICS)
    assert len(topics) == 20 and all(t.subtopics for t in topics)


def test_cli_rejects_a_bad_topic_file(tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_text('{"name": "x"}\n')
    res = CliRunner().invoke(
        main, ["synth", "--topics", str(bad), "--n", "1", "--output", str(tmp_path)]
    )
    assert res.exit_code != 0 and "topic" in res.output


def test_vllm_config_and_rows():
    cfg = VLLMConfig(model_source="org/model", tensor_parallel_size=2, batch_size=16)
    kw = processor_config_kwargs(cfg)
    assert kw["model_source"] == "org/model" and kw["batch_size"] == 16
    assert kw["engine_kwargs"]["tensor_parallel_size"] == 2 and kw["apply_chat_template"]
    assert sampling_params(cfg) == {"temperature": 0.8, "top_p": 0.95, "max_tokens": 1024}
    rows = rows_from_prompts(
        [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    )
    assert [r["row"] for r in rows] == [0, 1] and rows[1]["messages"][0]["content"] == "b"


def test_vllm_backend_fails_clearly_without_its_runtime():
    if missing_runtime() is None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(BackendUnavailable, match="primer-corpus\\[vllm\\]"):
        VLLMBackend(VLLMConfig()).generate([[{"role": "user", "content": "hi"}]])


def test_vllm_backend_maps_engine_rows_back_to_prompts(monkeypatch):
    """Everything around ``ray.data.llm`` (which needs a GPU): config, row order, usage, gaps."""
    from pipelines import ray_backend as rb
    from synth.backends import vllm_ray

    seen = {}

    def fake_generate(engine_config, rows, preprocess, postprocess):
        seen["config"] = engine_config
        engine_in = [preprocess(r) for r in rows]
        seen["sampling"] = engine_in[0]["sampling_params"]
        out = [
            {
                "row": r["row"],
                "generated_text": f"answer {r['row']}",
                "num_input_tokens": 7,
                "num_generated_tokens": 3,
            }
            for r in engine_in
            if r["row"] != 1  # the engine lost row 1
        ]
        return [postprocess(r) for r in reversed(out)]  # and returned the rest out of order

    monkeypatch.setattr(vllm_ray, "missing_runtime", lambda: None)
    monkeypatch.setattr(rb, "init", lambda *a, **k: None)
    monkeypatch.setattr(rb, "llm_generate", fake_generate)
    cfg = VLLMConfig(model_source="org/model")
    gens = VLLMBackend(cfg).generate([[{"role": "user", "content": c}] for c in "abc"])
    assert seen["config"] == processor_config_kwargs(cfg)
    assert seen["sampling"] == sampling_params(cfg)
    assert [g.text for g in gens] == ["answer 0", None, "answer 2"]
    assert gens[1].error == "vllm: no output"
    assert gens[2].usage == {"prompt_tokens": 7, "completion_tokens": 3}
    assert gens[0].model == "org/model"
