"""The spec's `concurrency` across every worker of a distributed run: a backend call takes a
slot in a Redis sorted set (token -> expiry) and gives it back after; slots of a worker that
died expire, so they are never lost for good."""

from __future__ import annotations

import asyncio
import random
import secrets
import time

from redis.asyncio import Redis

from agents.backend import ChatBackend, ChatRequest, Completion
from service.provenance import keys

TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
    return 1
end
return 0
"""  # ARGV: now, limit, expiry, token


class SlottedBackend:
    """`inner` called only while holding one of the run's `limit` call slots."""

    def __init__(
        self, inner: ChatBackend, redis: Redis, run_id: str, limit: int, hold_s: float
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.redis = redis
        self.key = keys.in_flight(run_id)
        self.limit = limit
        self.hold_s = hold_s

    async def complete(self, request: ChatRequest) -> Completion:
        token = secrets.token_hex(8)
        wait = 0.002
        while True:
            now = time.time()
            taken = await self.redis.eval(
                TAKE, 1, self.key, now, self.limit, now + self.hold_s, token
            )
            if taken:
                break
            await asyncio.sleep(random.uniform(0, wait))
            wait = min(wait * 2, 0.05)
        try:
            return await self.inner.complete(request)
        finally:
            await self.redis.zrem(self.key, token)

    async def aclose(self) -> None:
        await self.inner.aclose()
