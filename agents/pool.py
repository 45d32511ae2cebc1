"""One backend instance per configuration, shared by every agent of a run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from agents.backend import BackendError, ChatBackend
from agents.channel import DEFAULT_CHANNEL, Channel
from agents.kinds import BACKEND_KINDS, DEFAULT_OPENAI_CHAT_MODEL
from agents.retrying import CallPolicy, RetryingBackend

DEFAULT_TIMEOUTS: dict[str, float | None] = {
    "synthetic": None,
    "null": None,
    "openai": 60.0,
    "local": 600.0,
}
INFALLIBLE_KINDS = frozenset({"synthetic", "null"})  # computed in process: nothing to retry
OPENAI_TRANSPORTS = ("sdk", "aiohttp")
TRANSPORT_VARIABLE = "DRIFTLAB_OPENAI_TRANSPORT"
MAX_BATCH_VARIABLE = "DRIFTLAB_LOCAL_MAX_BATCH"
DEFAULT_LOCAL_MAX_BATCH = 1  # batching is opt-in: see docs/performance.md


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """What identifies one backend instance."""

    kind: str
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    n_threads: int | None = None
    n_ctx: int = 2048
    calls: CallPolicy = field(default_factory=CallPolicy)
    channel: Channel = DEFAULT_CHANNEL  # the synthetic channel's parameters


@dataclass
class BackendPool:
    """Creates backends lazily and closes them together."""

    _backends: dict[BackendConfig, ChatBackend] = field(default_factory=dict)

    def get(self, config: BackendConfig) -> ChatBackend:
        """The shared backend for `config`, created on first use; every kind that can fail
        is wrapped in the one retry layer."""
        if config not in self._backends:
            backend = _create(config)
            if config.kind not in INFALLIBLE_KINDS:
                backend = RetryingBackend(backend, config.calls)
            self._backends[config] = backend
        return self._backends[config]

    async def aclose(self) -> None:
        """Close every backend, even when closing one fails (the failures are raised after)."""
        backends, self._backends = list(self._backends.values()), {}
        failures: list[Exception] = []
        for backend in backends:
            try:
                await backend.aclose()
            except Exception as exc:
                failures.append(exc)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ExceptionGroup("closing backends failed", failures)

    async def __aenter__(self) -> BackendPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _create(config: BackendConfig) -> ChatBackend:
    if config.kind == "synthetic":
        from agents.synthetic import SyntheticBackend

        return SyntheticBackend(config.channel)
    if config.kind == "openai":
        api_key = os.environ.get(config.api_key_env) if config.api_key_env else None
        if config.api_key_env and not api_key:
            raise BackendError(f"environment variable {config.api_key_env} is not set")
        model = config.model or DEFAULT_OPENAI_CHAT_MODEL
        timeout_s = config.calls.timeout_s
        if openai_transport() == "aiohttp":
            from agents.openai_http import AiohttpChatBackend

            return AiohttpChatBackend(
                base_url=config.base_url, api_key=api_key, model=model, timeout_s=timeout_s
            )
        from agents.openai_chat import OpenAIChatBackend

        return OpenAIChatBackend(
            base_url=config.base_url, api_key=api_key, model=model, timeout_s=timeout_s
        )
    if config.kind == "null":
        from agents.null_backend import NullBackend

        return NullBackend()
    if config.kind == "local":
        from agents.local_chat import LocalChatBackend

        return LocalChatBackend(
            config.model,
            n_threads=config.n_threads,
            n_ctx=config.n_ctx,
            max_batch=local_max_batch(),
        )
    raise BackendError(f"unknown backend {config.kind!r}; expected one of {list(BACKEND_KINDS)}")


def openai_transport() -> str:
    """How the openai backend talks HTTP, from DRIFTLAB_OPENAI_TRANSPORT: `sdk` (the `openai`
    package, the default) or `aiohttp` (the lean transport, same semantics)."""
    transport = os.environ.get(TRANSPORT_VARIABLE, "").strip().lower() or "sdk"
    if transport not in OPENAI_TRANSPORTS:
        raise BackendError(
            f"{TRANSPORT_VARIABLE}={transport!r} is not a transport; expected one of "
            f"{list(OPENAI_TRANSPORTS)}"
        )
    return transport


def local_max_batch() -> int:
    """How many calls the local backend decodes together, from DRIFTLAB_LOCAL_MAX_BATCH
    (default 1: one call at a time). The KV cache takes that many times `n_ctx` tokens."""
    value = os.environ.get(MAX_BATCH_VARIABLE, "").strip()
    if not value:
        return DEFAULT_LOCAL_MAX_BATCH
    if not value.isdigit() or int(value) < 1:
        raise BackendError(f"{MAX_BATCH_VARIABLE}={value!r} is not a whole number of at least 1")
    return int(value)
