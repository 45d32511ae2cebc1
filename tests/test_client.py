"""The Python client against a real API server on loopback and the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

import pytest
from aiohttp import web
from pydantic import SecretStr

from service.api import create_app
from service.api.models import Drift, Lineage, RunEvent, RunView
from service.client import ApiError, Client
from service.experiment.spec import ExperimentSpec
from service.status import RunStatus
from tests.conftest import spec_dict
from tests.test_api import TOKEN, api_settings


@pytest.fixture
async def client(aiohttp_server, redis, tmp_path) -> AsyncIterator[Client]:
    server = await aiohttp_server(create_app(api_settings(tmp_path)))
    async with Client(str(server.make_url(""))) as api:
        yield api


async def test_run_waits_pages_messages_and_records(client):
    """A started run is waited for; its messages page through and its records match its
    counts; drift and the run listing are served as the server's models."""
    created = await client.start_run(spec_dict(rounds=3))
    assert created.location == f"/v1/runs/{created.id}"
    view = await client.wait(created.id, poll_s=0.05)
    assert isinstance(view, RunView) and view.status is RunStatus.SUCCEEDED
    count = view.record["counts"]["messages"]
    messages = [m async for m in client.messages(created.id, page_size=2)]
    assert len(messages) == len({m.id for m in messages}) == count
    assert [m.id for m in messages] == sorted(m.id for m in messages)
    models = [m async for m in client.messages(created.id, origin="model", round=2)]
    assert models and all(m.origin == "model" and m.round == 2 for m in models)
    records = await client.records(created.id)
    assert len(records) == count
    assert {r["id"] for r in records} == {m.id for m in messages}
    assert all(not isinstance(v, dict | list) for r in records for v in r.values())
    assert "usage.total_tokens" in records[0]
    one = await client.message(created.id, messages[-1].id)
    assert one == messages[-1]
    drift = await client.drift(created.id)
    assert isinstance(drift, Drift) and drift.run == created.id
    assert drift.drift == view.record["drift"] and len(drift.drift) >= 3
    listed = [v async for v in client.runs(status="succeeded")]
    assert [v.id for v in listed] == [created.id]
    assert "drift" not in listed[0].record and listed[0].record["counts"] == view.record["counts"]
    whole = [v async for v in client.runs(fields="full,spec")]
    assert whole[0].record["drift"] == view.record["drift"] and "spec" in whole[0].record
    assert [v async for v in client.runs(status=RunStatus.FAILED)] == []


async def test_runs_page_through_and_specs_may_be_models(client):
    """`runs` follows the cursor across pages; a spec may be given as an ExperimentSpec."""
    ids = []
    for seed in range(3):
        spec = ExperimentSpec.model_validate(spec_dict(rounds=1, seed=seed))
        ids.append((await client.start_run(spec)).id)
    for run_id in ids:
        await client.wait(run_id, poll_s=0.05)
    listed = [v.id async for v in client.runs(page_size=2)]
    assert sorted(listed) == sorted(ids) and len(listed) == 3


async def test_idempotency_key_returns_the_same_run(client):
    """The same Idempotency-Key twice starts one run; `wait` gives up after its timeout."""
    first = await client.start_run(spec_dict(rounds=1), idempotency_key="k-1")
    again = await client.start_run(spec_dict(rounds=1), idempotency_key="k-1")
    assert again.id == first.id
    with pytest.raises(TimeoutError):
        await client.wait(first.id, timeout_s=0)
    await client.wait(first.id, poll_s=0.05, timeout_s=60)


async def test_errors_raise_api_error_with_the_server_body(client):
    """404 and 422 answers raise ApiError carrying the JSON error and its named fields."""
    with pytest.raises(ApiError) as missing:
        await client.run("no-such-run")
    assert missing.value.status == 404
    assert "no-such-run" in missing.value.body["error"]
    with pytest.raises(ApiError) as invalid:
        await client.start_run(spec_dict(rounds=0, topology={"kind": "line", "n_agents": -1}))
    assert invalid.value.status == 422
    fields = {problem["field"] for problem in invalid.value.problems}
    assert {"rounds", "topology.n_agents"} <= fields, fields
    assert "rounds" in str(invalid.value)
    with pytest.raises(ApiError) as bad_filter:
        [m async for m in client.messages("no-such-run", round=-1)]
    assert bad_filter.value.status == 422
    assert bad_filter.value.problems[0]["field"] == "round"


async def test_server_settings_limit_backends_embedders_and_workers(
    aiohttp_server, redis, tmp_path
):
    """A server allowing only the synthetic backend, no embedder and one step process
    refuses other choices, in runs and studies, with 422 naming each field, and runs what it
    allows."""
    settings = api_settings(
        tmp_path,
        allowed_backends=frozenset({"synthetic"}),
        allowed_embedders=frozenset({"none"}),
        max_workers=1,
    )
    server = await aiohttp_server(create_app(settings))
    async with Client(str(server.make_url(""))) as api:
        persona = {"name": "remote", "system": "Retell it.", "backend": "openai"}
        spec = spec_dict(
            embedder="openai",
            workers=2,
            personas=["editor", persona],
            judge={"backend": "openai"},
        )
        with pytest.raises(ApiError) as refused:
            await api.start_run(spec)
        assert refused.value.status == 422
        fields = {problem["field"] for problem in refused.value.problems}
        assert fields == {"personas.1.backend", "judge.backend", "embedder", "workers"}
        with pytest.raises(ApiError) as local:
            await api.start_run(spec_dict(backend="local"))
        assert [p["field"] for p in local.value.problems] == ["backend"]
        with pytest.raises(ApiError) as study:
            await api.start_study(
                {"name": "s", "base": spec_dict(), "grid": {"workers": [1, 2]}, "replicates": 1}
            )
        assert study.value.status == 422
        assert [p["field"] for p in study.value.problems] == ["condition [workers=2] workers"]
        created = await api.start_run(spec_dict(rounds=1))
        assert (await api.wait(created.id, poll_s=0.05)).status is RunStatus.SUCCEEDED


async def refusal(call: Awaitable[object]) -> int:
    """The HTTP status of the ApiError `call` must raise."""
    with pytest.raises(ApiError) as refused:
        await call
    return refused.value.status


async def test_cancel_and_delete(client):
    """Cancelling a finished run is a 409 ApiError; a deleted run is gone (404)."""
    created = await client.start_run(spec_dict(rounds=1))
    await client.wait(created.id, poll_s=0.05)
    assert await refusal(client.cancel(created.id)) == 409
    await client.delete(created.id)
    assert await refusal(client.run(created.id)) == 404


async def test_token_is_sent(aiohttp_server, redis, tmp_path):
    """Without the server's token the client gets a 401 ApiError; with it, answers."""
    server = await aiohttp_server(create_app(api_settings(tmp_path, api_token=SecretStr(TOKEN))))
    async with Client(str(server.make_url(""))) as anonymous:
        with pytest.raises(ApiError) as refused:
            [v async for v in anonymous.runs()]
        assert refused.value.status == 401
    async with Client(str(server.make_url("")), TOKEN) as api:
        assert [v async for v in api.runs()] == []


async def test_events_parse_server_sent_events(aiohttp_server):
    """`events` reads id, event and (multi-line) JSON data fields, skips comments, sends
    Last-Event-ID, and ends when the server closes the stream."""
    seen: list[str | None] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        seen.append(request.headers.get("Last-Event-ID"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b": keep-alive\n\n")
        await response.write(b'id: 1-0\nevent: round_started\ndata: {"round": 1}\n\n')
        await response.write(b'id: 2-0\r\nevent: status\r\ndata: {"status":\r\n')
        await response.write(b'data: "done"}\r\n\r\n')
        return response

    app = web.Application()
    app.router.add_get("/v1/runs/{run}/events", stream)
    server = await aiohttp_server(app)
    async with Client(str(server.make_url(""))) as api:
        events = [e async for e in api.events("r1", last_event_id="0-5")]
    assert seen == ["0-5"]
    assert events == [
        RunEvent(id="1-0", type="round_started", data={"round": 1}),
        RunEvent(id="2-0", type="status", data={"status": "done"}),
    ]


async def test_study_starts_and_is_waited_for(client):
    """A study posted through the client runs its conditions to the end."""
    study = {
        "name": "client-study",
        "base": spec_dict(rounds=2),
        "grid": {"provenance.tag_loss": [0, 0.5]},
        "replicates": 1,
    }
    created = await client.start_study(study)
    assert created.location == f"/v1/studies/{created.id}"
    view = await client.wait_study(created.id, poll_s=0.1, timeout_s=120)
    assert view.status is RunStatus.SUCCEEDED and view.id == created.id
    assert len(view.runs) == 2 and {r.status for r in view.runs} == {RunStatus.SUCCEEDED}
    assert (await client.study(created.id)) == view
    assert await refusal(client.study("no-such-study")) == 404
    assert await refusal(client.cancel_study(created.id)) == 409
    await client.delete_study(created.id)
    assert await refusal(client.study(created.id)) == 404
    for run in view.runs:
        assert await refusal(client.run(run.id)) == 404


async def test_events_of_a_run_end_with_its_final_status(client):
    """The events of a finished run end with its final status; resuming from an id gives
    what came after it, and nothing after the last."""
    created = await client.start_run(spec_dict(rounds=2))
    view = await client.wait(created.id, poll_s=0.05)
    events = [e async for e in client.events(created.id)]
    assert events[-1].type == "status"
    assert events[-1].data["status"] == view.status.value == "succeeded"
    assert {"round_started", "round"} <= {e.type for e in events}
    later = [e async for e in client.events(created.id, last_event_id=events[0].id)]
    assert later == events[1:]
    assert [e async for e in client.events(created.id, last_event_id=events[-1].id)] == []


async def test_lineage_reaches_the_human_root(client):
    """The lineage of the furthest retold message holds its ancestors down to the human
    source, with an edge from each of its parents."""
    created = await client.start_run(spec_dict(rounds=3))
    await client.wait(created.id, poll_s=0.05)
    last = max([m async for m in client.messages(created.id)], key=lambda m: m.generation)
    assert last.generation >= 2
    lineage = await client.lineage(created.id, last.id)
    assert isinstance(lineage, Lineage) and lineage.message == last.id
    assert {node.origin for node in lineage.nodes} == {"human", "model"}
    edges = {(edge.source, edge.target) for edge in lineage.edges}
    assert {(parent, last.id) for parent in last.parents} <= edges
