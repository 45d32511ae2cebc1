"""Cancelling and deleting studies over HTTP (aiohttp's test server on loopback, the real
Redis): a live study stops with its runs, from the server running it or from another one
sharing the Redis; a study that is not live answers 409 to a cancel; delete removes the
study and its runs, refused while live unless forced; unknown ids are 404."""

from __future__ import annotations

import asyncio
from typing import Any

from service.api import create_app
from service.provenance import keys
from tests.test_api import api, api_settings
from tests.test_api_events import FRESH, stub_spec
from tests.test_api_studies import post_study, study_dict, study_finished

__all__ = ["api"]  # the fixture, imported from test_api


def slow_study(name: str) -> dict[str, Any]:
    """Two conditions of runs on the stub backend (0.05 s a call), long enough to be caught
    live: 1,000 rounds each, human text injected every round (a run ends early once it has
    nothing left to pass on)."""
    base = stub_spec(rounds=1000, topology={"kind": "line", "n_agents": 3}, **FRESH)
    return study_dict(name=name, base=base, grid={"provenance.tag_loss": [0, 0.5]})


async def running(client, study_id: str) -> dict[str, Any]:
    """The study's view once one of its runs is running."""
    for _ in range(600):
        view = await (await client.get(f"/v1/studies/{study_id}")).json()
        if any(run["status"] == "running" for run in view["runs"]):
            return dict(view)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no run of study {study_id} started")


async def test_a_live_study_is_cancelled_with_its_runs_then_deleted(api, redis, openai_endpoint):
    """Cancel stops a live study (`cancelled`, none of its runs live or succeeded); a second
    cancel is 409; delete then removes the study, its runs and their keys."""
    await openai_endpoint(latency_s=0.05)
    study_id = await post_study(api, slow_study("to-cancel"))
    await running(api, study_id)
    response = await api.post(f"/v1/studies/{study_id}/cancel")
    assert response.status == 200, await response.text()
    view = await response.json()
    assert view["status"] == "cancelled"
    statuses = {run["status"] for run in view["runs"]}
    assert "cancelled" in statuses and not statuses & {"running", "succeeded"}, statuses
    again = await api.post(f"/v1/studies/{study_id}/cancel")
    assert again.status == 409 and "cancelled" in (await again.json())["error"]

    assert (await api.delete(f"/v1/studies/{study_id}")).status == 204
    assert (await api.get(f"/v1/studies/{study_id}")).status == 404
    assert study_id not in [s["id"] for s in (await (await api.get("/v1/studies")).json())["items"]]
    for run in view["runs"]:
        assert (await api.get(f"/v1/runs/{run['id']}")).status == 404
    assert not [key async for key in redis.scan_iter(match=f"*{study_id}*")]


async def test_a_study_run_by_another_server_is_cancelled_through_redis(
    aiohttp_client, redis, tmp_path, openai_endpoint
):
    """A cancel sent to a server that does not run the study asks its server through Redis
    and answers once the study has stopped."""
    await openai_endpoint(latency_s=0.05)
    owner = await aiohttp_client(create_app(api_settings(tmp_path)))
    other = await aiohttp_client(create_app(api_settings(tmp_path)))
    study_id = await post_study(owner, slow_study("elsewhere"))
    await running(other, study_id)
    response = await other.post(f"/v1/studies/{study_id}/cancel")
    assert response.status == 200, await response.text()
    assert (await response.json())["status"] == "cancelled"
    assert not await redis.exists(keys.study_lease(study_id))


async def test_delete_is_409_while_live_unless_forced(api, openai_endpoint):
    """Deleting a live study is 409 and leaves it running; `?force=true` cancels it first
    and removes it with its runs."""
    await openai_endpoint(latency_s=0.05)
    study_id = await post_study(api, slow_study("forced"))
    view = await running(api, study_id)
    refused = await api.delete(f"/v1/studies/{study_id}")
    assert refused.status == 409 and "force" in (await refused.json())["error"]
    assert (await (await api.get(f"/v1/studies/{study_id}")).json())["status"] == "running"
    assert (await api.delete(f"/v1/studies/{study_id}", params={"force": "true"})).status == 204
    assert (await api.get(f"/v1/studies/{study_id}")).status == 404
    for run in view["runs"]:
        assert (await api.get(f"/v1/runs/{run['id']}")).status == 404


async def test_a_finished_study_cannot_be_cancelled_and_is_deleted(api):
    """A study that succeeded answers 409 to a cancel and is deleted with its runs."""
    study_id = await post_study(api, study_dict(grid={"injection.rate": [0, 0.5]}))
    view = await study_finished(api, study_id)
    assert view["status"] == "succeeded"
    assert (await api.post(f"/v1/studies/{study_id}/cancel")).status == 409
    assert (await api.delete(f"/v1/studies/{study_id}")).status == 204
    for run in view["runs"]:
        assert (await api.get(f"/v1/runs/{run['id']}")).status == 404


async def test_unknown_study_cancel_and_delete_are_404(api):
    """Cancel and delete of an unknown study answer 404 naming it."""
    for response in (
        await api.post("/v1/studies/nope/cancel"),
        await api.delete("/v1/studies/nope"),
    ):
        assert response.status == 404 and "nope" in (await response.json())["error"]
