"""The one retry layer: a wrapper around any chat backend that bounds each call in time,
retries retryable faults with exponential backoff and full jitter (honouring a server's
`Retry-After`), refuses empty replies and cuts over-long ones."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agents.backend import BackendError, ChatBackend, ChatRequest, Completion, WrappedBackend


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """How one backend's calls are made: `timeout_s` per call (None: no limit), at most
    `max_attempts` calls per request, waits of up to `backoff_s * 2**(n-1)` (capped at
    `max_backoff_s`) between them, replies cut at `max_reply_chars`."""

    timeout_s: float | None = 60.0
    max_attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_reply_chars: int = 20_000


class CallFailed(BackendError):
    """Every attempt of one request failed, or a fault that no retry can fix came up."""

    def __init__(self, last: BackendError, attempts: int, errors: tuple[str, ...]) -> None:
        detail = f"after {attempts} attempt{'s' * (attempts != 1)}" if attempts > 1 else ""
        super().__init__(f"{last}{f' ({detail})' if detail else ''}", kind=last.kind)
        self.attempts = attempts
        self.errors = errors


class RetryingBackend(WrappedBackend):
    """`inner` with the call policy applied; the completion records its attempts and errors."""

    def __init__(
        self,
        inner: ChatBackend,
        policy: CallPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(inner)
        self.policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()  # jitter only: it never shapes a result

    async def complete(self, request: ChatRequest) -> Completion:
        errors: list[str] = []
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                completion = self._checked(await self._call(request))
            except BackendError as fault:
                errors.append(fault.short())
                if not fault.retryable or attempt == self.policy.max_attempts:
                    raise CallFailed(fault, attempt, tuple(errors)) from fault
                await self._sleep(self.delay(attempt, fault.retry_after_s))
            else:
                if attempt == completion.attempts and not errors and not completion.errors:
                    return completion  # its copy would hold the same values
                return completion.model_copy(update={"attempts": attempt, "errors": tuple(errors)})
        raise AssertionError("unreachable: the last attempt returns or raises")

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """Seconds to wait after failed attempt `attempt`: full jitter over the exponential
        backoff, and never less than the server's `Retry-After`."""
        policy = self.policy
        ceiling = min(policy.max_backoff_s, policy.backoff_s * 2 ** (attempt - 1))
        jittered = self._rng.uniform(0, ceiling)
        return max(jittered, retry_after_s) if retry_after_s is not None else jittered

    async def _call(self, request: ChatRequest) -> Completion:
        timeout = self.policy.timeout_s
        try:
            async with asyncio.timeout(timeout):
                return await self.inner.complete(request)
        except TimeoutError:
            raise BackendError(
                f"no reply within {timeout:g} s", kind="timeout", retryable=True
            ) from None

    def _checked(self, completion: Completion) -> Completion:
        text = completion.text
        if not text.strip():
            raise BackendError("the reply had no text", kind="empty", retryable=True)
        limit = self.policy.max_reply_chars
        if len(text) > limit:
            return completion.model_copy(update={"text": text[:limit], "truncated": True})
        return completion
