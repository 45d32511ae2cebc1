"""The one small protocol every chat backend speaks, and the values it exchanges."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agents.persona import Persona

WORDS_PER_TOKEN = 0.75  # for token estimates where there is no tokenizer


class BackendError(RuntimeError):
    """A chat backend could not produce a completion.

    `kind` names the fault (`rate_limited`, `server_error`, `timeout`, `connection`,
    `malformed`, `non_text`, `empty`, `client_error`, or `error` for anything else);
    `retryable` says whether calling again may succeed, after at least `retry_after_s`
    seconds when the server asked for a pause."""

    def __init__(
        self,
        message: str,
        *,
        kind: str = "error",
        retryable: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    def short(self, limit: int = 200) -> str:
        """`kind: message`, cut to `limit` characters (what a message's `errors` lists)."""
        text = f"{self.kind}: {self}"
        return text if len(text) <= limit else text[: limit - 3] + "..."


class Usage(BaseModel):
    """Token counts of one completion (estimated where a backend has no tokenizer)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatRequest(BaseModel):
    """One call: the rendered prompts plus the raw inputs (the synthetic channel reads those)."""

    model_config = ConfigDict(frozen=True)

    system: str
    user: str
    inputs: tuple[str, ...]
    labels: tuple[str | None, ...] = ()  # the label shown above each input, if any
    persona: Persona
    task: str
    model: str | None = None
    temperature: float = 0.7
    max_tokens: int = 512
    seed: int | None = None


class Completion(BaseModel):
    """What a backend returns for one request."""

    model_config = ConfigDict(frozen=True)

    text: str
    model: str
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    finish_reason: str | None = None
    system_fingerprint: str | None = None
    attempts: int = 1
    errors: tuple[str, ...] = ()
    truncated: bool = False
    cached: bool = False


@runtime_checkable
class ChatBackend(Protocol):
    """Anything that turns a chat request into text."""

    name: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...


class WrappedBackend:
    """Base of a backend that wraps another (retries, budget, call slots, cache): it has the
    inner backend's name, and closing it closes the inner one."""

    def __init__(self, inner: ChatBackend) -> None:
        self.inner = inner
        self.name = inner.name

    async def aclose(self) -> None:
        await self.inner.aclose()


@runtime_checkable
class ImmediateBackend(ChatBackend, Protocol):
    """A backend that computes in process and never waits on I/O (null, synthetic): it also
    answers synchronously, so a round's steps on it can run without a task or an await each."""

    def complete_now(self, request: ChatRequest) -> Completion: ...
