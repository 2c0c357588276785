"""Tiny synthetic labelled corpus: teaching-like texts score high, spam and chatter low."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

TOPICS = ["photosynthesis", "recursion", "fractions", "the water cycle", "binary search", "gravity"]
HIGH = (
    "In this lesson we explain {t}. First, consider a simple example: because each step "
    "depends on the previous one, we can reason about {t} step by step. For example, "
    "suppose we start from the definition. Therefore the result follows. Exercise: apply "
    "the method to a new case and check your answer."
)
MID = (
    "Today the local paper reported on {t}. Some people said it matters, and a few quotes followed."
)
LOW = "BUY NOW cheap {t} deals!!! Click here, free shipping, discount, sign up, login, cart."


def synthetic_annotations(n_per_level: int = 8, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for level, template in ((5, HIGH), (4, HIGH), (3, HIGH), (2, MID), (1, MID), (0, LOW)):
        for k in range(n_per_level):
            t = rng.choice(TOPICS)
            text = template.format(t=t) + f" ({k})" + (" More detail." * rng.randint(0, 3))
            rows.append(
                {
                    "id": f"s{level}-{k}",
                    "text": text,
                    "score": level,
                    "selection": "random",
                    "source": "synthetic-web",
                }
            )
    return rows


@pytest.fixture
def annotations_file(tmp_path: Path) -> Path:
    path = tmp_path / "ann.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in synthetic_annotations()) + "\n")
    return path


def tiny_bert(path: Path, words, model_class: str = "BertModel", **config):
    """Save a randomly initialised 2-layer BERT (and its word-level tokenizer) under
    ``path``; returns the model so a test can set weights before saving it again."""
    import torch
    import transformers
    from transformers import BertConfig, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(words))]
    path.mkdir(parents=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    # vocab= (not vocab_file=): transformers 5 ignores the file and maps every word to [UNK].
    BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}).save_pretrained(path)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        **config,
    )
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(cfg)
    model.save_pretrained(path)
    return model
