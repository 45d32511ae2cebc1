"""The OpenAI chat-completions protocol as driftlab speaks it, shared by both transports of
the `openai` backend (the SDK's and the lean aiohttp one): the request body, the reply
driftlab records, and what an HTTP error means for the retry layer. No `openai` import."""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.backend import BackendError, ChatRequest, Completion, Usage

RETRYABLE_STATUS = frozenset({408, 409, 429})


class _Message(BaseModel):
    content: Any = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class ChatReply(BaseModel):
    """The parts of a chat-completions response driftlab records."""

    choices: list[_Choice]
    model: str | None = None
    usage: Usage | None = None
    system_fingerprint: str | None = None


def require_api_key(explicit: str | None) -> str:
    """`explicit`, else OPENAI_API_KEY; a BackendError saying what to set when neither is."""
    key = explicit or os.environ.get("OPENAI_API_KEY")
    if not key:
        raise BackendError(
            "the openai backend needs an API key: set OPENAI_API_KEY (and OPENAI_BASE_URL "
            "for a non-OpenAI endpoint), or name another backend with --backend"
        )
    return key


def chat_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The JSON body of one chat-completions call."""
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "seed": request.seed,
    }


def completion_from_reply(response: object, model: str, latency_ms: float) -> Completion:
    """The Completion in a decoded response body; a retryable BackendError when it is not a
    chat completion with text."""
    try:
        reply = ChatReply.model_validate(response)
    except ValidationError as exc:
        raise _not_a_completion(model, exc) from exc
    return _completion(reply, model, latency_ms)


def completion_from_json(raw: bytes, model: str, latency_ms: float) -> Completion:
    """`completion_from_reply` of a raw JSON body, parsed and validated in one pass (a third
    of the CPU of `json.loads` then validation); a body that does not parse is
    `malformed_json`, as it is when decoded first."""
    try:
        reply = ChatReply.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise malformed_json(model, ValueError(first["msg"])) from exc
        raise _not_a_completion(model, exc) from exc
    return _completion(reply, model, latency_ms)


def _not_a_completion(model: str, exc: ValidationError) -> BackendError:
    return BackendError(
        f"openai backend, model {model!r}: not a chat completion: {exc.errors()[0]['msg']}",
        kind="malformed",
        retryable=True,
    )


def _completion(reply: ChatReply, model: str, latency_ms: float) -> Completion:
    if not reply.choices:
        raise BackendError(
            f"openai backend, model {model!r}: the response had no choices",
            kind="malformed",
            retryable=True,
        )
    choice = reply.choices[0]
    content = choice.message.content
    if content is not None and not isinstance(content, str):
        raise BackendError(
            f"openai backend, model {model!r}: the reply is {type(content).__name__}, not text",
            kind="non_text",
            retryable=True,
        )
    return Completion(
        text=(content or "").strip(),
        model=reply.model or model,
        usage=reply.usage or Usage(),
        latency_ms=latency_ms,
        finish_reason=choice.finish_reason,
        system_fingerprint=reply.system_fingerprint,
    )


def malformed_json(model: str, exc: ValueError) -> BackendError:
    """The fault for a JSON body that does not parse."""
    return BackendError(
        f"openai backend, model {model!r}: the body is not valid JSON ({exc})",
        kind="malformed",
        retryable=True,
    )


def status_fault(model: str, status: int, message: str, headers: Mapping[str, str]) -> BackendError:
    """The BackendError for an HTTP error status: its kind, whether to retry, and the wait
    the server asked for."""
    kind = (
        "rate_limited"
        if status == 429
        else "server_error"
        if status >= 500
        else "timeout"
        if status == 408
        else "client_error"
    )
    return BackendError(
        f"openai backend, model {model!r}: HTTP {status}: {_first_line(message)}",
        kind=kind,
        retryable=status >= 500 or status in RETRYABLE_STATUS,
        retry_after_s=retry_after(headers),
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The pause a response asks for: `retry-after-ms`, else `Retry-After` in seconds or as
    an HTTP date; None when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
