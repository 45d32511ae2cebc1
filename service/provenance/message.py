"""The message record: one retelling (or human text) with its true and observed provenance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.assembly import assemble
from agents.backend import Usage

Origin = Literal["human", "model"]
ObservedOrigin = Literal["human", "model", "unknown"]


class Observed(BaseModel):
    """The tags one receiver saw: intact, or lost and (maybe) guessed by a detector.

    An intact tag carries the sender's generation, min_generation and human_input_share (a
    provenance record that travels with the text); a lost one at most a detector's guess.
    """

    model_config = ConfigDict(frozen=True)

    tagged: bool
    origin: ObservedOrigin
    generation: int | None = None
    min_generation: int | None = None
    human_input_share: float | None = None


class TextMetrics(BaseModel):
    """Cheap drift metrics of a message's text against the original source."""

    model_config = ConfigDict(frozen=True)

    length_words: int
    unique_words: int
    type_token_ratio: float
    fact_retention: float | None = None
    facts_retained: list[str] = Field(default_factory=list)
    length_chars: int | None = None
    rare_word_retention: float | None = None
    entropy_ratio: float | None = None


class Message(BaseModel):
    """One stored message; these field names are the messages.jsonl layout. `attempts` is
    the calls made (0 for human text or a cached answer, 1 when nothing failed), `errors` the
    faults survived (`kind: detail`), `truncated` whether the reply was cut at
    `calls.max_reply_chars`, `cached` whether it came from the response cache."""

    model_config = ConfigDict(frozen=True)

    id: str
    run: str
    replicate: int
    round: int
    node: str
    agent: str | None
    persona: str | None
    backend: str
    model: str | None
    temperature: float | None = None
    seed: int | None = None
    origin: Origin
    generation: int
    min_generation: int
    parents: list[str]
    roots: list[str]
    n_roots: int = 0
    human_input_share: float | None
    observed: dict[str, Observed]
    text: str
    system: str | None = None
    prompt: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    finish_reason: str | None = None
    system_fingerprint: str | None = None
    attempts: int = 0
    errors: list[str] = Field(default_factory=list)
    truncated: bool = False
    cached: bool = False
    created_at: str
    drift: TextMetrics


MAX_ROOTS_LISTED = 100


def complete_message(fields: dict[str, Any]) -> Message:
    """A Message from every one of its fields, each already of its type (the step builds
    them); a missing or unknown field is a bug (see `assemble`)."""
    return assemble(Message, fields)


_SERIALISER = Message.__pydantic_serializer__


def record_json(message: Message) -> bytes:
    """The stored record: `message.model_dump_json()` as UTF-8 bytes, without decoding it to
    text for Redis to encode it back."""
    return _SERIALISER.to_json(message)


def message_id(run: str, replicate: int, round_: int, node: str) -> str:
    """Deterministic id: a retried step rewrites the same record."""
    return f"{run}:{replicate}:{round_}:{node}"


class FailedStep(BaseModel):
    """A step whose backend calls all failed: stored apart from the messages."""

    model_config = ConfigDict(frozen=True)

    run: str
    replicate: int
    round: int
    node: str
    agent: str | None
    backend: str
    reason: str
    kind: str
    attempts: int
    errors: list[str]
    created_at: str
