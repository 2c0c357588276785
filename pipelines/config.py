"""The pipeline's typed configuration: one YAML file, every key overridable on the CLI.

Each stage owns its section's model (``FilterConfig`` next to the filters, ...);
this module only composes them, loads YAML and applies ``--set key=value``
overrides. Errors name the offending key in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from classifiers.config import ClassifyConfig
from corpus.config_base import Section
from corpus.decontam_config import DecontamConfig
from corpus.dedup.config import DedupConfig
from corpus.filters.config import FilterConfig
from corpus.pii import PiiConfig
from corpus.toxicity import ToxicityConfig
from pipelines.profiles import ProfileName, ProfilesConfig
from pipelines.serve.config import ServeConfig
from synth.config import SynthConfig


class ConfigError(ValueError):
    """A bad config file or override; the message is one line naming the key."""


class ShardConfig(Section):
    max_docs: int = Field(100_000, ge=1, description="documents per output part at most")
    max_bytes: int = Field(512 * 2**20, ge=1024, description="uncompressed bytes per part at most")
    sort_memory_mib: int = Field(
        512,
        ge=64,
        description="memory for sorting the kept documents into corpus order; a larger "
        "corpus spills to disk beside it (so the driver does not grow with the corpus)",
    )


class RayConfig(Section):
    address: str | None = Field(
        None, description="Ray cluster address; default RAY_ADDRESS or local"
    )
    num_cpus: int | None = Field(None, ge=1, description="local Ray only; default all cores")
    mode: Literal["auto", "ray", "local"] = Field(
        "auto",
        description="ray: always Ray; local: every step in this process, no Ray; auto: local "
        "for inputs up to local_max_bytes when no cluster address is set, else Ray",
    )
    local_max_bytes: int = Field(
        256 * 1024,
        ge=0,
        description="auto mode: input files totalling at most this many bytes run without Ray "
        "(Ray's start-up costs tens of seconds; a 20-document run needs seconds)",
    )
    progress: bool = Field(
        False,
        description="Ray Data's own progress bars (primer prints one line per stage; "
        "--verbose shows Ray's bars and logs too)",
    )


class ReaderConfig(Section):
    max_record_bytes: int = Field(
        10 * 2**20, ge=1024, description="larger records are rejected, not loaded"
    )
    batch_size: int = Field(512, ge=1, description="documents per batch through the ingest stages")
    extractor: Literal["resiliparse", "trafilatura"] = Field(
        "resiliparse", description="HTML main-text extractor for WARC (see corpus/extract.py)"
    )
    text_field: str = Field(
        "text",
        min_length=1,
        description="JSONL/Parquet field with the text (content, raw_content...)",
    )
    id_field: str = Field("id", min_length=1, description="JSONL/Parquet field with the id")
    split_bytes: int = Field(
        256 * 2**20,
        ge=1,
        description="an input file larger than this is ingested as ceil(size / split_bytes) "
        "parts, each its own task and marker (several workers share one big file; a killed "
        "run resumes inside it); the corpus is the same as unsplit (pipelines/parts.py)",
    )
    split_block: int = Field(
        1000,
        ge=1,
        description="records per block of a split file; part i of n owns blocks b with "
        "b % n == i (every part reads the whole stream, parses only its own blocks)",
    )


class PipelineConfig(Section):
    inputs: list[str] = Field(default_factory=list, description="paths, globs or directories")
    output: str | None = Field(None, description="output directory (corpus/, corpus.duckdb)")
    tokenizer: str = Field("cl100k_base", description="cl100k_base or a tokenizer.json path")
    reader: ReaderConfig = Field(default_factory=ReaderConfig)
    filters: FilterConfig = Field(default_factory=FilterConfig)
    decontam: DecontamConfig = Field(
        default_factory=DecontamConfig,
        description="drop web documents holding benchmark test items (shipped sets by default)",
    )
    pii: PiiConfig = Field(default_factory=PiiConfig)
    toxicity: ToxicityConfig = Field(default_factory=ToxicityConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    classify: ClassifyConfig = Field(default_factory=ClassifyConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    shards: ShardConfig = Field(default_factory=ShardConfig)
    ray: RayConfig = Field(default_factory=RayConfig)
    profile: ProfileName = Field(
        "auto", description="web, code, or auto: by profiles.code.match on each input path"
    )
    profiles: ProfilesConfig = Field(default_factory=ProfilesConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config error: {dotted}: {k} is not a section")
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``filters.min_lang_score=0.5`` -> ``("filters.min_lang_score", 0.5)`` (value read as YAML)."""
    if "=" not in text:
        raise ConfigError(f"config error: override {text!r} is not KEY=VALUE")
    key, raw = text.split("=", 1)
    return key.strip(), yaml.safe_load(raw) if raw.strip() else None


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    **explicit: Any,
) -> PipelineConfig:
    """YAML file (optional), then ``--set`` overrides, then explicit CLI options (non-None)."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config error: {p}: no such file")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"config error: {p}: invalid YAML: {e}".replace("\n", " ")) from e
        if not isinstance(data, dict):
            raise ConfigError(f"config error: {p}: top level must be a mapping")
    for item in overrides:
        _set_dotted(data, *parse_override(item))
    for key, value in explicit.items():
        if value is not None and value != ():
            _set_dotted(data, key, list(value) if isinstance(value, tuple) else value)
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top level)"
        more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise ConfigError(f"config error: {where}: {first['msg']}{more}") from e
