"""Request and response bodies of the service (they are also the OpenAPI page at ``/docs``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterDocument(_Body):
    id: str = Field(description="your id, echoed back")
    text: str | None = Field(None, description="plain text (what `primer run` sees after reading)")
    html: str | None = Field(None, description="an HTML page; its main text is extracted first")
    url: str | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> FilterDocument:
        if (self.text is None) == (self.html is None):
            raise ValueError("give exactly one of text or html")
        return self


class FilterRequest(_Body):
    documents: list[FilterDocument] = Field(min_length=1)


class ScoreDocument(_Body):
    id: str
    text: str


class ScoreRequest(_Body):
    documents: list[ScoreDocument] = Field(min_length=1)


class ExtractDocument(_Body):
    id: str
    html: str
    url: str | None = None


class ExtractRequest(_Body):
    documents: list[ExtractDocument] = Field(min_length=1)


class Decision(BaseModel):
    """One document's decision; ``error`` instead when it could not be processed."""

    id: str
    kept: bool | None = None
    drop_stage: str | None = None
    drop_reason: str | None = None
    duplicate_of: str | None = None
    lang: str | None = None
    lang_score: float | None = None
    quality: dict[str, float] | None = None
    n_chars: int | None = None
    n_tokens: int | None = None
    edu_score: float | None = None
    edu_int: int | None = None
    decontam_hits: list[str] | None = None
    error: str | None = None


class FilterResponse(BaseModel):
    results: list[Decision]


class Score(BaseModel):
    id: str
    edu_score: float | None = None
    edu_int: int | None = None
    above_threshold: bool | None = Field(None, description="edu_score >= classify.min_edu_score")
    error: str | None = None


class ScoreResponse(BaseModel):
    results: list[Score]


class Extracted(BaseModel):
    id: str
    text: str | None = None
    error: str | None = None


class ExtractResponse(BaseModel):
    results: list[Extracted]
