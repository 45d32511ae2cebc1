"""Per-run limits on LLM calls and tokens, counted in Redis so every process of a run shares
them: a wrapper around a chat backend that refuses a step once the run's budget is spent."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from agents.backend import ChatBackend, ChatRequest, Completion
from agents.retrying import CallFailed
from service.errors import Category, DriftlabError
from service.provenance import keys


class BudgetExceeded(DriftlabError, RuntimeError):
    """The run spent its budget of LLM calls or tokens; it ends `budget_exceeded`."""

    category = Category.INTERNAL


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `max_calls` backend calls (retries included) and `max_tokens` total tokens
    per run; None: no limit."""

    max_calls: int | None = None
    max_tokens: int | None = None


class BudgetedBackend:
    """Reserves one call before each step (refusing it once the run has spent its budget)
    and adds the step's further attempts and its tokens after it."""

    def __init__(self, inner: ChatBackend, budget: Budget, redis: Redis, run_id: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.budget = budget
        self.redis = redis
        self.key = keys.budget(run_id)

    async def complete(self, request: ChatRequest) -> Completion:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.key, "calls", 1)
            pipe.hget(self.key, "tokens")
            calls, tokens = await pipe.execute()
        spent = self._spent(calls, int(tokens or 0))
        if spent:
            raise BudgetExceeded(f"the run's budget is spent: {spent}")
        try:
            completion = await self.inner.complete(request)
        except CallFailed as exc:
            await self._add(exc.attempts - 1, 0)
            raise
        await self._add(completion.attempts - 1, completion.usage.total_tokens)
        return completion

    def _spent(self, calls: int, tokens: int) -> str | None:
        if self.budget.max_calls is not None and calls > self.budget.max_calls:
            return f"budget.max_calls={self.budget.max_calls} LLM calls made"
        if self.budget.max_tokens is not None and tokens >= self.budget.max_tokens:
            return f"{tokens} tokens used, budget.max_tokens={self.budget.max_tokens}"
        return None

    async def _add(self, calls: int, tokens: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            if calls:
                pipe.hincrby(self.key, "calls", calls)
            if tokens:
                pipe.hincrby(self.key, "tokens", tokens)
            await pipe.execute()

    async def aclose(self) -> None:
        await self.inner.aclose()
