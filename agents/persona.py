"""Personas: who an agent is (system prompt, sampling) and how the synthetic channel imitates it."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.endpoints import check_base_url
from agents.kinds import BackendKind

SLOTS = ("thing", "name", "year", "number", "topic")


class RetellingStyle(BaseModel):
    """Parameters of the synthetic channel for one persona (see docs/synthetic.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    drop_rate: float = Field(
        0.2, ge=0, le=1, description="chance a zero-salience clause is dropped"
    )
    salience_protection: float = Field(
        0.8, ge=0, le=1, description="how far salience lowers the drop chance"
    )
    target_words: int = Field(80, ge=5, description="length the persona's retellings drift toward")
    number_drift: float = Field(
        0.1, ge=0, le=1, description="chance a number is rounded or shifted"
    )
    qualifier_loss: float = Field(0.3, ge=0, le=1, description="chance a hedge word is dropped")
    intensify: float = Field(0.0, ge=0, le=1, description="chance a sentence gains an intensifier")
    hedge: float = Field(0.0, ge=0, le=1, description="chance a sentence gains a hedge")
    vocabulary: tuple[str, ...] = Field(
        (), strict=False, description="the persona's stock phrases (a list in YAML)"
    )
    vocabulary_rate: float = Field(0.0, ge=0, le=1, description="chance a sentence gains one")
    invent: float = Field(0.0, ge=0, le=1, description="chance a sentence gains an invented clause")
    inventions: tuple[str, ...] = Field(
        (),
        strict=False,
        description="clause templates with {thing} {name} {year} {number} {topic} slots",
    )
    substitute: float = Field(
        0.0, ge=0, le=1, description="chance a number, name or month is swapped for another"
    )
    attraction: float = Field(
        0.0, ge=0, le=1, description="chance a retelling gains one of the persona's phrasings"
    )
    phrasing: tuple[str, ...] = Field(
        (),
        strict=False,
        description="the persona's own sentences (attractors), with the same slots",
    )
    label_trust: float = Field(
        0.5, ge=0, le=1, description="how far provenance labels steer what survives"
    )

    @field_validator("inventions", "phrasing")
    @classmethod
    def _known_slots(cls, templates: tuple[str, ...]) -> tuple[str, ...]:
        for template in templates:
            unknown = [s for s in re.findall(r"\{(\w*)\}", template) if s not in SLOTS]
            if unknown:
                raise ValueError(
                    f"template {template!r} has unknown slot {unknown[0]!r}; "
                    f"slots are {', '.join(SLOTS)}"
                )
        return templates


class Persona(BaseModel):
    """A named voice: the system prompt and sampling settings an agent speaks with."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    description: str = ""
    system: str = Field(min_length=1)
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(512, ge=1)
    model: str | None = None
    backend: BackendKind | None = None
    base_url: str | None = None
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_s: float | None = Field(None, gt=0, description="seconds per call to its backend")
    style: RetellingStyle = Field(default_factory=RetellingStyle)

    @field_validator("base_url")
    @classmethod
    def _no_credentials(cls, url: str | None) -> str | None:
        return url if url is None else check_base_url(url)
