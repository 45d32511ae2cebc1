"""Chat through any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

from __future__ import annotations

import os
import time

import openai
from pydantic import BaseModel, ValidationError

from agents.backend import BackendError, ChatRequest, Completion, Usage
from agents.kinds import DEFAULT_OPENAI_CHAT_MODEL


class _Message(BaseModel):
    content: str | None = None


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
    """`openai.AsyncOpenAI` behind the chat protocol; the SDK's own retries are the only layer.

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
        max_retries: int = 2,
        timeout_s: float = 120.0,
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
            max_retries=max_retries,
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
            raise BackendError(f"openai backend, model {model!r}: {exc}") from exc
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            reply = ChatReply.model_validate(response)
        except ValidationError as exc:
            raise BackendError(
                f"openai backend, model {model!r}: not a chat completion: {exc.errors()[0]['msg']}"
            ) from exc
        if not reply.choices:
            raise BackendError(f"openai backend, model {model!r}: the response had no choices")
        choice = reply.choices[0]
        return Completion(
            text=(choice.message.content or "").strip(),
            model=reply.model or model,
            usage=reply.usage or Usage(),
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
            system_fingerprint=reply.system_fingerprint,
        )

    async def aclose(self) -> None:
        await self._client.close()
