"""Finding Redis: the configured URL, the local default, or an embedded server we start."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.experiment.settings import Settings
from service.provenance.redis_conn import RedisUnavailable, open_redis
from tests.conftest import free_port, test_redis_url


async def test_embedded_redis_starts_and_keeps_data_between_commands(tmp_path, monkeypatch):
    """With nothing on the default port, driftlab starts its own Redis, says so, and the data
    written by one command is there for the next."""
    monkeypatch.setattr(
        "service.provenance.redis_conn.DEFAULT_URL", f"redis://127.0.0.1:{free_port()}/0"
    )
    said: list[str] = []
    settings = Settings(redis_url=None, data_dir=tmp_path)
    first = await open_redis(settings, announce=said.append)
    assert first.server is not None and first.url.startswith("unix://")
    await first.client.set("driftlab:probe", "kept")
    await first.aclose()
    assert first.server.returncode is not None
    assert any("starting an embedded" in line for line in said)

    second = await open_redis(settings, announce=said.append)
    try:
        assert await second.client.get("driftlab:probe") == b"kept"
    finally:
        await second.aclose()


async def test_configured_url_that_does_not_answer_is_a_clear_error(tmp_path):
    """A DRIFTLAB_REDIS_URL nobody answers on is reported, not replaced by an embedded one."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(RedisUnavailable, match="DRIFTLAB_REDIS_URL"):
        await open_redis(Settings(redis_url=url, data_dir=tmp_path))


async def test_busy_pool_makes_commands_wait_not_fail(tmp_path):
    """With every connection held (as event streams hold them while they wait), further
    commands wait for a free one instead of failing with 'Too many connections'."""
    settings = Settings(redis_url=test_redis_url(), data_dir=tmp_path, redis_max_connections=2)
    connection = await open_redis(settings, announce=lambda text: None)
    try:
        key = "driftlab:test:pool-wait"
        started = time.perf_counter()
        results = await asyncio.gather(
            *(connection.client.blpop([key], timeout=0.2) for _ in range(6)),
            connection.client.ping(),
        )
        waited = time.perf_counter() - started
    finally:
        await connection.aclose()
    assert results[:6] == [None] * 6 and results[6] is True
    assert waited >= 0.55  # six 0.2 s waits through two connections: three turns
