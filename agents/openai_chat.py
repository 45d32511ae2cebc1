"""Chat through any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

from __future__ import annotations

import email.utils
import os
import time
from typing import Any

import openai
from pydantic import BaseModel, ValidationError

from agents.backend import BackendError, ChatRequest, Completion, Usage
from agents.kinds import DEFAULT_OPENAI_CHAT_MODEL


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


class OpenAIChatBackend:
    """`openai.AsyncOpenAI` behind the chat protocol, with the SDK's own retries switched off:
    `agents.retrying.RetryingBackend` is the one retry layer. Every failure is a BackendError
    whose `kind` and `retryable` say what went wrong and whether to call again.

    The body is posted as plain JSON through the client's `post` (auth, base URL, retries and
    error mapping included) and the JSON answer is validated by a small model of our own:
    `chat.completions.create` walks a typed-parameter transform and builds a full response
    object, about 4 ms of CPU per call together, which alone capped a process near 250 calls/s.
    Requests go over aiohttp (`DefaultAioHttpClient`), which costs less CPU than httpx.
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str = DEFAULT_OPENAI_CHAT_MODEL,
        timeout_s: float | None = 60.0,
    ) -> None:
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise BackendError(
                "the openai backend needs an API key: set OPENAI_API_KEY (and OPENAI_BASE_URL "
                "for a non-OpenAI endpoint), or name another backend with --backend"
            )
        self.model = model
        self._client = openai.AsyncOpenAI(
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
            api_key=key,
            max_retries=0,
            timeout=timeout_s,
            http_client=openai.DefaultAioHttpClient(timeout=timeout_s),
        )

    async def complete(self, request: ChatRequest) -> Completion:
        model = request.model or self.model
        started = time.perf_counter()
        try:
            response = await self._client.post(
                "/chat/completions",
                cast_to=object,
                body={
                    "model": model,
                    "messages": [
                        {"role": "system", "content": request.system},
                        {"role": "user", "content": request.user},
                    ],
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "seed": request.seed,
                },
            )
        except openai.OpenAIError as exc:
            raise _fault(exc, model) from exc
        except ValueError as exc:  # a JSON body that does not parse
            raise BackendError(
                f"openai backend, model {model!r}: the body is not valid JSON ({exc})",
                kind="malformed",
                retryable=True,
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return _completion(response, model, latency_ms)

    async def aclose(self) -> None:
        await self._client.close()


def _completion(response: object, model: str, latency_ms: float) -> Completion:
    try:
        reply = ChatReply.model_validate(response)
    except ValidationError as exc:
        raise BackendError(
            f"openai backend, model {model!r}: not a chat completion: {exc.errors()[0]['msg']}",
            kind="malformed",
            retryable=True,
        ) from exc
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


RETRYABLE_STATUS = frozenset({408, 409, 429})


def _fault(exc: openai.OpenAIError, model: str) -> BackendError:
    """The BackendError for an SDK error: its kind, whether to retry, and the wait asked."""
    where = f"openai backend, model {model!r}"
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"{where}: the call timed out", kind="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"{where}: {exc}", kind="connection", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
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
            f"{where}: HTTP {status}: {_first_line(exc.message)}",
            kind=kind,
            retryable=status >= 500 or status in RETRYABLE_STATUS,
            retry_after_s=retry_after(exc.response.headers),
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return BackendError(f"{where}: {exc}", kind="malformed", retryable=True)
    return BackendError(f"{where}: {exc}")


def retry_after(headers: Any) -> float | None:
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
