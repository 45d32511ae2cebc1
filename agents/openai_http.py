"""Chat through any OpenAI-compatible endpoint over one bare aiohttp session: the `openai`
backend's lean transport (DRIFTLAB_OPENAI_TRANSPORT=aiohttp), with the SDK transport's
request, error kinds, retry hints and timeouts, at a fraction of its CPU per call.

What a call costs besides aiohttp's own work is kept small: the URL is parsed and the headers
set once per session, the body is encoded and the reply parsed and validated by pydantic-core
(Rust) rather than the `json` module and Python-level validation."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic_core import PydanticSerializationError, to_json
from yarl import URL

from agents.backend import BackendError, ChatRequest, Completion
from agents.kinds import DEFAULT_OPENAI_CHAT_MODEL
from agents.openai_protocol import (
    chat_body,
    completion_from_json,
    completion_from_reply,
    require_api_key,
    status_fault,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_CONNECTIONS = 1000  # as the SDK's pool; the engine's concurrency limit is the real bound


class AiohttpChatBackend:
    """POST /chat/completions with aiohttp, as `OpenAIChatBackend` does through the SDK:
    the same body and headers that matter (bearer key, OPENAI_ORG_ID and OPENAI_PROJECT_ID),
    the same base URL resolution (argument, OPENAI_BASE_URL, api.openai.com), proxies from the
    environment, `timeout_s` per connect and per read as the SDK applies it, no retries of its
    own (`RetryingBackend` is the one retry layer), and every failure the BackendError the SDK
    transport raises for it."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str = DEFAULT_OPENAI_CHAT_MODEL,
        timeout_s: float | None = 60.0,
    ) -> None:
        self.model = model
        base = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.url = f"{base.rstrip('/')}/chat/completions"
        self._url = URL(self.url)
        self._headers = _headers(require_api_key(api_key))
        self._proxy = environment_proxy(self.url)
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout_s, sock_read=timeout_s
        )
        self._session: aiohttp.ClientSession | None = None

    async def complete(self, request: ChatRequest) -> Completion:
        model = request.model or self.model
        body = _encoded(chat_body(request, model))
        started = time.perf_counter()
        try:
            async with self._open().post(self._url, data=body, proxy=self._proxy) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except TimeoutError as exc:
            raise BackendError(
                f"openai backend, model {model!r}: the call timed out",
                kind="timeout",
                retryable=True,
            ) from exc
        except aiohttp.ClientError as exc:
            raise BackendError(
                f"openai backend, model {model!r}: Connection error ({type(exc).__name__}: {exc})",
                kind="connection",
                retryable=True,
            ) from exc
        if status >= 400:
            raise status_fault(model, status, _error_message(status, raw), headers)
        latency_ms = (time.perf_counter() - started) * 1000
        if not _is_json(headers):  # its text, as the SDK returns it: not a chat completion
            return completion_from_reply(raw.decode(errors="replace"), model, latency_ms)
        return completion_from_json(raw, model, latency_ms)

    def _open(self) -> aiohttp.ClientSession:
        """The session, opened on first use (inside the event loop that will use it)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                timeout=self._timeout,
                headers=self._headers,
            )
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def environment_proxy(url: str) -> str | None:
    """The proxy HTTPS_PROXY / HTTP_PROXY name for `url` unless NO_PROXY exempts its host, as
    the SDK's client finds it; read once, since aiohttp's `trust_env` reads it (and .netrc)
    in a thread on every request, tripling the CPU of a call."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _headers(key: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "driftlab",
    }
    for header, variable in (
        ("OpenAI-Organization", "OPENAI_ORG_ID"),
        ("OpenAI-Project", "OPENAI_PROJECT_ID"),
    ):
        value = os.environ.get(variable)
        if value:
            headers[header] = value
    return headers


def _encoded(body: dict[str, Any]) -> bytes:
    """The JSON of a request body; a text with a lone surrogate (which UTF-8 cannot carry)
    is escaped by `json`, as the SDK's client sends it."""
    try:
        return to_json(body)
    except PydanticSerializationError:
        return json.dumps(body).encode()


def _is_json(headers: Any) -> bool:
    """Whether a response's content type is JSON (`application/json`, `...+json`)."""
    return bool(headers.get("content-type", "*").split(";")[0].endswith("json"))


def _error_message(status: int, raw: bytes) -> str:
    """The SDK's wording: `Error code: N`, then the body's `error.message` when it has one."""
    message = f"Error code: {status}"
    try:
        body = json.loads(raw)
    except ValueError:
        return message
    error = body.get("error", body) if isinstance(body, dict) else None
    detail = error.get("message") if isinstance(error, dict) else None
    return f"{message} - {detail}" if isinstance(detail, str) and detail else message
