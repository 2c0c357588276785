"""Token counts: the offline cl100k_base ranks, a tokenizer.json, and the stage's drop rule."""

from __future__ import annotations

import pytest

from corpus.tokens import Tokenizer, TokenStage


def test_cl100k_counts_offline():
    tok = Tokenizer()
    assert tok.count(["hello world", ""]) == [2, 0]
    assert tok.count([]) == []


def test_a_tokenizer_json_file(tmp_path):
    from tokenizers import Tokenizer as HF
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    hf = HF(WordLevel({"a": 0, "b": 1, "[UNK]": 2}, unk_token="[UNK]"))
    hf.pre_tokenizer = Whitespace()
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    assert Tokenizer(str(path)).count(["a b c d", "a"]) == [4, 1]
    with pytest.raises(FileNotFoundError):
        Tokenizer(str(tmp_path / "missing.json"))


def test_stage_counts_alive_rows_only():
    batch = {
        "text": ["one two three", "dropped text here"],
        "drop_reason": [None, "too-short"],
        "drop_stage": [None, "quality"],
    }
    out = TokenStage().process(batch)
    assert out["n_chars"] == [13, 17]
    assert out["n_tokens"][0] == 3 and out["n_tokens"][1] is None
