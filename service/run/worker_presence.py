"""Which `driftlab worker` processes are alive: each announces itself every BEAT_S seconds
(service/provenance/workers.py), so a server can refuse a distributed run no worker would
take, and a distributed run can fail once every worker it had went silent."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from service.provenance.workers import announce, withdraw

BEAT_S = 1.0
SILENT_AFTER_S = 10.0  # a run whose workers all stayed silent this long fails


async def keep_announcing(redis: Redis, name: str) -> None:
    """Announce `name` every BEAT_S seconds until cancelled; then withdraw it."""
    try:
        while True:
            await announce(redis, name)
            await asyncio.sleep(BEAT_S)
    finally:
        await withdraw(redis, name)
