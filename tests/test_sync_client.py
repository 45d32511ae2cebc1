"""The synchronous client against a real API server on loopback and the real Redis."""

from __future__ import annotations

import asyncio

import pytest

from service.api import create_app
from service.client import ApiError
from service.status import RunStatus
from service.sync_client import SyncClient
from tests.conftest import spec_dict
from tests.test_api import api_settings


async def test_sync_client_runs_waits_and_iterates(aiohttp_server, redis, tmp_path):
    """Called without await (from a thread, as a script would): a run is started, waited
    for, its messages iterate, a prefix names it, and an error answer raises ApiError."""
    server = await aiohttp_server(create_app(api_settings(tmp_path)))

    def script() -> tuple:
        with SyncClient(str(server.make_url(""))) as api:
            created = api.start_run(spec_dict(rounds=2))
            view = api.wait(created.id, timeout_s=60)
            messages = list(api.messages(created.id))
            listed = [run.id for run in api.runs()]
            by_prefix = api.run(created.id[:-3])
            with pytest.raises(ApiError) as caught:
                api.run("no-such-run")
            return created, view, messages, listed, by_prefix, caught.value.status

    created, view, messages, listed, by_prefix, status = await asyncio.to_thread(script)
    assert view.status is RunStatus.SUCCEEDED
    assert len(messages) == int(view.record["counts"]["messages"]) > 0
    assert listed == [created.id] and by_prefix.id == created.id
    assert status == 404
