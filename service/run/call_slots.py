"""The spec's `concurrency` across every worker of a distributed run: a backend call takes a
slot in a Redis sorted set (token -> expiry) and gives it back after; slots of a worker that
died expire, so they are never lost for good."""

from __future__ import annotations

import asyncio
import random
import secrets

from redis.asyncio import Redis

from agents.backend import ChatBackend, ChatRequest, Completion, WrappedBackend
from service.provenance.run_limits import give_call_slot, take_call_slot


class SlottedBackend(WrappedBackend):
    """`inner` called only while holding one of the run's `limit` call slots."""

    def __init__(
        self, inner: ChatBackend, redis: Redis, run_id: str, limit: int, hold_s: float
    ) -> None:
        super().__init__(inner)
        self.redis = redis
        self.run_id = run_id
        self.limit = limit
        self.hold_s = hold_s

    async def complete(self, request: ChatRequest) -> Completion:
        token = secrets.token_hex(8)
        wait = 0.002
        while not await take_call_slot(self.redis, self.run_id, token, self.limit, self.hold_s):
            await asyncio.sleep(random.uniform(0, wait))
            wait = min(wait * 2, 0.05)
        try:
            return await self.inner.complete(request)
        finally:
            await give_call_slot(self.redis, self.run_id, token)
