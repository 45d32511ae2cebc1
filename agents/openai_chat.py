"""Chat through any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server), over
the `openai` SDK: the `openai` backend's default transport."""

from __future__ import annotations

import os
import time

import openai

from agents.backend import BackendError, ChatRequest, Completion
from agents.kinds import DEFAULT_OPENAI_CHAT_MODEL
from agents.openai_protocol import (
    chat_body,
    completion_from_reply,
    malformed_json,
    require_api_key,
    status_fault,
)


class OpenAIChatBackend:
    """`openai.AsyncOpenAI` behind the chat protocol, with the SDK's own retries switched off:
    `agents.retrying.RetryingBackend` is the one retry layer. Every failure is a BackendError
    whose `kind` and `retryable` say what went wrong and whether to call again.

    The body is posted as plain JSON through the client's `post` (auth, base URL, retries and
    error mapping included) and the JSON answer is validated by a small model of our own:
    `chat.completions.create` walks a typed-parameter transform and builds a full response
    object, about 4 ms of CPU per call together, which alone capped a process near 250 calls/s.
    Requests go over aiohttp (`DefaultAioHttpClient`), which costs less CPU than httpx.
    `agents.openai_http` is the leaner transport with the same semantics.
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
        key = require_api_key(api_key)
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
                "/chat/completions", cast_to=object, body=chat_body(request, model)
            )
        except openai.OpenAIError as exc:
            raise _fault(exc, model) from exc
        except ValueError as exc:  # a JSON body that does not parse
            raise malformed_json(model, exc) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return completion_from_reply(response, model, latency_ms)

    async def aclose(self) -> None:
        await self._client.close()


def _fault(exc: openai.OpenAIError, model: str) -> BackendError:
    """The BackendError for an SDK error: its kind, whether to retry, and the wait asked."""
    where = f"openai backend, model {model!r}"
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"{where}: the call timed out", kind="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"{where}: {exc}", kind="connection", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return status_fault(model, exc.status_code, exc.message, exc.response.headers)
    if isinstance(exc, openai.APIResponseValidationError):
        return BackendError(f"{where}: {exc}", kind="malformed", retryable=True)
    return BackendError(f"{where}: {exc}")
