"""Run data reaches Redis only through the store (service/provenance/) and the lifecycle
(service/lifecycle/): no other module sends a Redis command, runs a Lua script or knows the
key layout. Other modules may hold the connection and hand it to the store's functions."""

from __future__ import annotations

import ast
from pathlib import Path

from redis.asyncio import Redis

SERVICE = Path(__file__).resolve().parent.parent / "service"
OWNERS = ("provenance", "lifecycle")  # the packages that may talk to Redis about run data
CONNECTION_SET_UP = {
    # `driftlab doctor`: pings the configured URL to say whether Redis answers
    "doctor.py",
    # the API server's watch: pings Redis so /health and 503s know it is down before a request
    "api/redis_watch.py",
}
CONNECTION = {"aclose", "close", "connection_pool", "from_pool", "from_url", "initialize"}
COMMANDS = {name for name in dir(Redis) if not name.startswith("_")} - CONNECTION
# Commands whose names ordinary objects share (dict.get, Event.set, Path.exists ...): a call
# of one counts only on a receiver named like a Redis client or pipeline.
SHARED_NAMES = {
    name for kind in (dict, list, set, str, bytes, tuple, object) for name in dir(kind)
} | {"delete", "digest", "exists", "json", "reset", "set", "shutdown", "time", "wait"}
CLIENT_NAMES = {"redis", "client", "pipe", "pipeline", "connection", "probe", "_probe"}


def redis_uses(source: str) -> list[str]:
    """Where `source` sends Redis commands, runs a Lua script or imports the key layout."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, receiver = node.func.attr, node.func.value
            last = receiver.attr if isinstance(receiver, ast.Attribute) else None
            if isinstance(receiver, ast.Name):
                last = receiver.id
            on_client = last in CLIENT_NAMES
            if name in COMMANDS and (on_client or name not in SHARED_NAMES):
                found.append((node.lineno, f"{ast.unparse(node.func)}()"))
        elif isinstance(node, ast.ImportFrom) and node.module == "service.provenance":
            if any(alias.name == "keys" for alias in node.names):
                found.append((node.lineno, "imports the key layout"))
        elif isinstance(node, ast.Import) and any(
            alias.name == "service.provenance.keys" for alias in node.names
        ):
            found.append((node.lineno, "imports the key layout"))
        elif isinstance(node, ast.Constant) and "redis.call(" in str(node.value):
            found.append((node.lineno, "a Lua script"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def checked_modules() -> list[Path]:
    return [
        path
        for path in sorted(SERVICE.rglob("*.py"))
        if path.relative_to(SERVICE).parts[0] not in OWNERS
        and path.relative_to(SERVICE).as_posix() not in CONNECTION_SET_UP
    ]


def test_the_scan_finds_each_kind_of_redis_use():
    """The checker itself: commands on clients and pipelines, Redis-only command names on
    anything, Lua scripts and the key layout; not dict.get or Event.set."""
    source = """
from service.provenance import keys
SCRIPT = "return redis.call('GET', KEYS[1])"
async def f(self, redis, pipe, record, event):
    await self.store.redis.hset("k", mapping={})
    await redis.get("k")
    pipe.xadd("s", {})
    await self.queue.xreadgroup("g", "c", {})
    record.get("status")
    event.set()
    await self.redis.aclose()
"""
    assert redis_uses(source) == [
        "line 2: imports the key layout",
        "line 3: a Lua script",
        "line 5: self.store.redis.hset()",
        "line 6: redis.get()",
        "line 7: pipe.xadd()",
        "line 8: self.queue.xreadgroup()",
    ]


def test_only_the_store_and_the_lifecycle_talk_to_redis():
    modules = checked_modules()
    assert len(modules) > 100
    assert all((SERVICE / name).is_file() for name in CONNECTION_SET_UP)
    offending = {
        f"{path.relative_to(SERVICE)}: {use}"
        for path in modules
        for use in redis_uses(path.read_text(encoding="utf-8"))
    }
    assert not offending


def test_connection_set_up_only_pings():
    """The allow-listed modules open and check connections; they read and write nothing."""
    for name in CONNECTION_SET_UP:
        uses = redis_uses((SERVICE / name).read_text(encoding="utf-8"))
        assert uses and all(use.endswith(".ping()") for use in uses), (name, uses)
