"""Which `driftlab worker` processes are alive, in Redis: a sorted set of worker names by the
time of their last beat."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from service.provenance import keys


async def announce(redis: Redis, name: str) -> None:
    """Worker `name` is alive now."""
    await redis.zadd(keys.WORKERS, {name: time.time()})


async def withdraw(redis: Redis, name: str) -> None:
    """Worker `name` has stopped."""
    await redis.zrem(keys.WORKERS, name)


async def live_workers(redis: Redis, within_s: float) -> int:
    """Workers that announced themselves in the last `within_s` seconds."""
    return int(await redis.zcount(keys.WORKERS, time.time() - within_s, "+inf"))
