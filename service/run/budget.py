"""Per-run limits on LLM calls and tokens, counted in Redis so every process of a run shares
them: a wrapper around a chat backend that refuses a step once the run's budget is spent."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from agents.backend import ChatBackend, ChatRequest, Completion, WrappedBackend
from agents.retrying import CallFailed
from service.errors import Category, DriftlabError
from service.provenance.run_limits import add_spending, reserve_call


class BudgetExceeded(DriftlabError, RuntimeError):
    """The run spent its budget of LLM calls or tokens; it ends `budget_exceeded`."""

    category = Category.INTERNAL


@dataclass(frozen=True, slots=True)
class Budget:
    """At most `max_calls` backend calls (retries included) and `max_tokens` total tokens
    per run; None: no limit."""

    max_calls: int | None = None
    max_tokens: int | None = None


class BudgetedBackend(WrappedBackend):
    """Reserves one call before each step (refusing it once the run has spent its budget)
    and adds the step's further attempts and its tokens after it."""

    def __init__(self, inner: ChatBackend, budget: Budget, redis: Redis, run_id: str) -> None:
        super().__init__(inner)
        self.budget = budget
        self.redis = redis
        self.run_id = run_id

    async def complete(self, request: ChatRequest) -> Completion:
        spent = self._spent(*await reserve_call(self.redis, self.run_id))
        if spent:
            raise BudgetExceeded(f"the run's budget is spent: {spent}")
        try:
            completion = await self.inner.complete(request)
        except CallFailed as exc:
            await add_spending(self.redis, self.run_id, exc.attempts - 1, 0)
            raise
        tokens = completion.usage.total_tokens
        await add_spending(self.redis, self.run_id, completion.attempts - 1, tokens)
        return completion

    def _spent(self, calls: int, tokens: int) -> str | None:
        if self.budget.max_calls is not None and calls > self.budget.max_calls:
            return f"budget.max_calls={self.budget.max_calls} LLM calls made"
        if self.budget.max_tokens is not None and tokens >= self.budget.max_tokens:
            return f"{tokens} tokens used, budget.max_tokens={self.budget.max_tokens}"
        return None
