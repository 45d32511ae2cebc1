"""Which `driftlab worker` processes are alive: each announces itself every BEAT_S seconds in
a sorted set (name -> time of its last beat), so a server can refuse a distributed run no
worker would take, and a distributed run can fail once every worker it had went silent."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from service.provenance import keys

BEAT_S = 1.0
SILENT_AFTER_S = 10.0  # a run whose workers all stayed silent this long fails


async def announce(redis: Redis, name: str) -> None:
    await redis.zadd(keys.WORKERS, {name: time.time()})


async def keep_announcing(redis: Redis, name: str) -> None:
    """Announce `name` every BEAT_S seconds until cancelled; then withdraw it."""
    try:
        while True:
            await announce(redis, name)
            await asyncio.sleep(BEAT_S)
    finally:
        await redis.zrem(keys.WORKERS, name)


async def live_workers(redis: Redis, within_s: float) -> int:
    """Workers that announced themselves in the last `within_s` seconds."""
    return int(await redis.zcount(keys.WORKERS, time.time() - within_s, "+inf"))
