"""Profiles: which reader, filter chain and edu model an input goes through.

``web`` is the prose chain (language ID, Gopher, C4, FineWeb; the web edu
model): the top-level ``filters:`` and ``classify:`` sections. ``code`` reads
source files and Stack-style rows, runs the code filters
(``corpus.filters.code``) and scores with the code edu model. ``profile: auto``
picks per input file by ``profiles.code.match`` (globs on the path, default
source-file extensions); ``--profile code`` forces one profile for every input.
Synthetic shards (``OUT/synth/``) get the profile of their format whatever is
forced: ``code-part-*`` (code exercises) is ``code``, ``part-*`` (prose) is ``web``,
so exercises keep their code and prose keeps the prose rules.
Each document's profile is a ledger column.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from pydantic import Field

from corpus.config_base import Section
from corpus.filters.code import CodeFilterConfig
from corpus.readers.code import LANGUAGES, CodeFields

PROFILES = ("web", "code")
ProfileName = Literal["auto", "web", "code"]


class CodeFieldsConfig(Section):
    """Columns of Stack-style rows; the first name present in a row wins."""

    text: list[str] = Field(list(CodeFields.text), description="source text columns")
    repo: list[str] = Field(list(CodeFields.repo), description="repository name columns")
    path: list[str] = Field(list(CodeFields.path), description="file path columns")
    lang: list[str] = Field(list(CodeFields.lang), description="language columns")
    commit: list[str] = Field(list(CodeFields.commit), description="commit columns")

    def fields(self) -> CodeFields:
        return CodeFields(
            text=tuple(self.text),
            repo=tuple(self.repo),
            path=tuple(self.path),
            lang=tuple(self.lang),
            commit=tuple(self.commit),
        )


class CodeClassifyConfig(Section):
    enabled: bool = Field(True, description="score code documents with the code edu model")
    model: str | None = Field(
        None, description="code model directory; None = the shipped classifiers/models/edu-code"
    )
    batch_size: int = Field(128, ge=1, description="documents per batch handed to a worker")


class CodeProfileConfig(Section):
    match: list[str] = Field(
        [f"*{ext}" for ext in LANGUAGES],
        description="globs on an input path that select the code profile under `profile: auto`",
    )
    languages: list[str] = Field(
        ["python"], description="languages the directory walker collects (metadata 'lang')"
    )
    fields: CodeFieldsConfig = Field(default_factory=CodeFieldsConfig)
    filters: CodeFilterConfig = Field(default_factory=CodeFilterConfig)
    classify: CodeClassifyConfig = Field(default_factory=CodeClassifyConfig)


class ProfilesConfig(Section):
    code: CodeProfileConfig = Field(default_factory=CodeProfileConfig)


def profile_of(path: Path | str, forced: str, profiles: ProfilesConfig) -> str:
    """``web`` or ``code`` for one input file."""
    p = Path(path)
    if p.parent.name == "synth" and p.name.endswith(".jsonl.zst"):
        if p.name.startswith("code-part-"):
            return "code"
        if p.name.startswith("part-"):
            return "web"
    if forced in PROFILES:
        return forced
    name = str(path)
    return "code" if any(fnmatch(name, g) for g in profiles.code.match) else "web"
