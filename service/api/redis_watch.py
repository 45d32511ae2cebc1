"""Whether the server's Redis answers, known before a request needs it: a ping every
PING_EVERY_S on a client of its own that neither retries nor waits long, so that a route
answers 503 within about a second of Redis going away (its connection refused or reset)
instead of after the store client's reconnection attempts. A ping that only times out is a
slow Redis (busy with a large run's writes, or this loop stalled by a chunk of steps on a
loaded machine), not a lost one, until no ping has been answered for SILENT_LIMIT_S."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

PING_EVERY_S = 0.5
PING_TIMEOUT_S = 1.0
SILENT_LIMIT_S = 5.0
RETRY_AFTER_S = 5


class RedisDown(RuntimeError):
    """Redis does not answer (503 with Retry-After)."""

    def __init__(self) -> None:
        super().__init__(f"Redis is not reachable; nothing was changed, retry in {RETRY_AFTER_S} s")


class RedisWatch:
    """Pings Redis in the background; `up` is the last answer, `lost` is set while down."""

    def __init__(self, client: Redis) -> None:
        kwargs = dict(client.connection_pool.connection_kwargs)
        kwargs.update(
            socket_timeout=PING_TIMEOUT_S,
            socket_connect_timeout=PING_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        pool = ConnectionPool(connection_class=client.connection_pool.connection_class, **kwargs)
        self._probe = Redis.from_pool(pool)
        self.up = True
        self.answered_at = time.monotonic()
        self.lost = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="redis watch")

    async def check(self) -> bool:
        """Ping now; whether Redis is up (and remember it): it answered, or it is only slow."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                self.up = bool(await self._probe.ping())
            self.answered_at = time.monotonic()
        except (TimeoutError, RedisTimeout):
            self.up = self.up and time.monotonic() - self.answered_at < SILENT_LIMIT_S
        except (RedisError, OSError):
            self.up = False
        if self.up:
            self.lost.clear()
        else:
            self.lost.set()
        return self.up

    async def _watch(self) -> None:
        while not self._closing:
            await self.check()
            await asyncio.sleep(PING_EVERY_S)

    async def aclose(self) -> None:
        """Stop pinging. The loop also ends at its next turn should a cancellation be lost on
        the way (a known race in redis-py's asyncio client: a cancel that lands as a command
        times out can be swallowed), so closing never waits longer than a ping."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=PING_TIMEOUT_S + PING_EVERY_S + 1)
        await self._probe.aclose()


REDIS_WATCH = web.AppKey("redis_watch", RedisWatch)
