"""Chat through any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

from __future__ import annotations

import os
import time

import openai

from agents.backend import BackendError, ChatRequest, Completion, Usage

DEFAULT_MODEL = "gpt-4o-mini"


class OpenAIChatBackend:
    """`openai.AsyncOpenAI` behind the chat protocol; the SDK's own retries are the only layer."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str = DEFAULT_MODEL,
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
        )

    async def complete(self, request: ChatRequest) -> Completion:
        model = request.model or self.model
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                seed=request.seed,
            )
        except openai.OpenAIError as exc:
            raise BackendError(f"openai backend, model {model!r}: {exc}") from exc
        latency_ms = (time.perf_counter() - started) * 1000
        if not response.choices:
            raise BackendError(f"openai backend, model {model!r}: the response had no choices")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=(choice.message.content or "").strip(),
            model=response.model or model,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                total_tokens=usage.total_tokens if usage else 0,
            ),
            latency_ms=latency_ms,
            finish_reason=choice.finish_reason,
            system_fingerprint=response.system_fingerprint,
        )

    async def aclose(self) -> None:
        await self._client.close()
