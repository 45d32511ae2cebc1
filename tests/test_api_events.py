"""Run events over SSE (order, resume with Last-Event-ID), /metrics, and a cancelled run that
stops calling its backend, through aiohttp's test client against the real Redis."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from agents.openai_faults import FaultPlan
from agents.openai_stub import REQUESTS, create_stub_app
from service.api import create_app
from service.experiment.settings import Settings
from service.provenance.store import ProvenanceStore
from tests.conftest import spec_dict
from tests.test_api import TOKEN, api, api_settings, finished, start

__all__ = ["api"]  # the fixture, imported from test_api


@dataclass(frozen=True)
class Frame:
    id: str
    event: str
    data: dict[str, Any]


def frames(text: str) -> list[Frame]:
    """The events of an SSE body (comment lines, such as pings, skipped)."""
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            found.append(Frame(fields["id"], fields["event"], json.loads(fields["data"])))
    return found


async def read_events(api, run_id: str, last_id: str | None = None) -> list[Frame]:
    """The whole stream, read until the server closes it."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    response = await api.get(f"/v1/runs/{run_id}/events", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return frames(await response.text())


async def read_some_events(api, run_id: str, count: int) -> list[Frame]:
    """The first `count` events, then the connection is dropped."""
    response = await api.get(f"/v1/runs/{run_id}/events")
    assert response.status == 200
    got: list[Frame] = []
    buffer = ""
    while len(got) < count:
        chunk = await response.content.readany()
        assert chunk, "the stream ended early"
        buffer += chunk.decode()
        *complete, buffer = buffer.replace("\r\n", "\n").split("\n\n")
        got += frames("\n\n".join(complete))
    response.close()
    return got[:count]


FRESH = {"injection": {"rate": 1.0}, "human_corpus": ["A fresh text.", "Another one."]}


def stub_spec(**overrides: Any) -> dict[str, Any]:
    """A spec on the OpenAI-compatible stub (found through OPENAI_BASE_URL, or `base_url`)."""
    return spec_dict(backend="openai", model="stub-model", **overrides)


async def test_stream_of_a_finished_run_is_in_order_with_stored_message_ids(api, store):
    """A finished run's stream: running, then round_started and round for every round, then
    exporting and the final status; ids increase, each frame's event is its type, and the
    message ids of the round events are exactly the run's stored messages, each of its
    round."""
    run_id = await start(api, spec_dict(rounds=3))
    record = (await finished(api, run_id))["record"]
    events = await read_events(api, run_id)
    assert [(e.event, e.data.get("round", e.data.get("status"))) for e in events] == [
        ("status", "running"),
        ("round_started", 0),
        ("round", 0),
        ("round_started", 1),
        ("round", 1),
        ("round_started", 2),
        ("round", 2),
        ("status", "exporting"),
        ("status", "succeeded"),
    ]
    assert all(e.event == e.data["type"] for e in events)
    stream_ids = [tuple(map(int, e.id.split("-"))) for e in events]
    assert stream_ids == sorted(set(stream_ids))
    rounds = [e.data for e in events if e.event == "round"]
    announced = [mid for r in rounds for mid in r["message_ids"]]
    assert len(announced) == len(set(announced)) == record["counts"]["messages"]
    assert sorted(announced) == sorted(await store.message_ids(run_id))
    for data in rounds:
        assert data["messages"] == len(data["message_ids"]) == data["counts"]["messages"]
        for message in await store.get_messages(run_id, data["message_ids"]):
            assert message is not None and message.round == data["round"]
    assert sum(r["counts"]["llm_calls"] for r in rounds) == record["counts"]["llm_calls"] > 0


async def test_resume_with_last_event_id_misses_nothing_and_repeats_nothing(api, openai_endpoint):
    """A stream dropped mid-run and resumed with Last-Event-ID gives, with what came before
    the drop, exactly the events of a full read after the run ended."""
    await openai_endpoint(latency_s=0.05)
    run_id = await start(api, stub_spec(rounds=12, **FRESH))
    before = await read_some_events(api, run_id, 4)
    assert (await api.get(f"/v1/runs/{run_id}")).status == 200
    assert not (await finished_yet(api, run_id))
    after = await read_events(api, run_id, before[-1].id)
    whole = await read_events(api, run_id)
    assert [e.id for e in before + after] == [e.id for e in whole]
    assert before + after == whole
    assert whole[-1].data == {"type": "status", "status": "succeeded"}
    assert [e.data["round"] for e in whole if e.event == "round"] == list(range(12))


async def finished_yet(api, run_id: str) -> bool:
    body = await (await api.get(f"/v1/runs/{run_id}")).json()
    return body["status"] not in ("queued", "running", "exporting")


async def test_stream_of_a_queued_run_waits_for_it(
    aiohttp_client, redis, tmp_path, openai_endpoint
):
    """With one run slot taken, a queued run's stream waits, then follows it to its end."""
    await openai_endpoint(latency_s=0.05)
    api = await aiohttp_client(create_app(api_settings(tmp_path, max_concurrent_runs=1)))
    first = await start(api, stub_spec(rounds=10, **FRESH))
    second = await start(api, spec_dict(rounds=2))
    reading = asyncio.create_task(read_events(api, second))
    await asyncio.sleep(0.3)
    assert (await (await api.get(f"/v1/runs/{second}")).json())["status"] == "queued"
    assert not reading.done()
    events = await reading
    statuses = ["status", "status"]  # exporting, then the final one
    assert [e.event for e in events] == ["status", *["round_started", "round"] * 2, *statuses]
    assert events[-1].data["status"] == "succeeded"
    await finished(api, first)


async def test_stream_answers_204_when_nothing_is_left_and_422_for_a_bad_id(api):
    """Resuming after a finished run's last event answers 204 (an EventSource stops there);
    a malformed Last-Event-ID is 422 naming the header; an unknown run is 404."""
    run_id = await start(api, spec_dict(rounds=1))
    await finished(api, run_id)
    last = (await read_events(api, run_id))[-1]
    response = await api.get(f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": last.id})
    assert response.status == 204
    response = await api.get(f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": "x"})
    assert response.status == 422
    assert [p["field"] for p in (await response.json())["problems"]] == ["Last-Event-ID"]
    assert (await api.get("/v1/runs/nope/events")).status == 404


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_after_a_run_match_its_record(aiohttp_client, redis, tmp_path, monkeypatch):
    """After a run with failed calls, /metrics shows it succeeded, and its messages, LLM
    calls, faults and call latencies as its record counts them; requests are timed by route."""
    stub = await aiohttp_client_stub(aiohttp_client, FaultPlan(script=["http_500", "malformed"]))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    api = await aiohttp_client(create_app(api_settings(tmp_path, allow_server_paths=True)))
    spec = stub_spec(rounds=3, base_url=stub, calls={"backoff_s": 0})
    run_id = await start(api, spec)
    record = (await finished(api, run_id))["record"]
    assert record["status"] == "succeeded"
    response = await api.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = samples(await response.text())
    assert found[("driftlab_runs", (("status", "succeeded"),))] == 1
    assert found[("driftlab_runs", (("status", "failed"),))] == 0
    counts = record["counts"]
    for origin in ("human", "model"):
        assert found[("driftlab_messages_stored_total", (("origin", origin),))] == counts[origin]
    assert counts["human"] + counts["model"] == counts["messages"] > 0
    assert found[("driftlab_llm_calls_total", ())] == counts["llm_calls"] == counts["model"] + 2
    assert record["faults"] == {"server_error": 1, "malformed": 1}
    for kind, count in record["faults"].items():
        assert found[("driftlab_faults_total", (("kind", kind),))] == count
    assert found[("driftlab_llm_call_seconds_count", ())] == counts["model"]
    timed = ("method", "GET"), ("route", "/v1/runs/{run}"), ("status", "200")
    assert found[("driftlab_http_request_seconds_count", timed)] >= 1


async def aiohttp_client_stub(aiohttp_client, faults: FaultPlan | None = None) -> str:
    """The stub's base URL, served on loopback."""
    client = await aiohttp_client(create_stub_app(faults=faults))
    return str(client.make_url("/v1"))


async def test_metrics_need_the_token_when_one_is_set(aiohttp_client, redis, tmp_path):
    """/metrics is 401 without the bearer token when a token is set, 200 with it."""
    settings = api_settings(tmp_path, api_token=SecretStr(TOKEN))
    api = await aiohttp_client(create_app(settings))
    assert (await api.get("/metrics")).status == 401
    response = await api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200
    assert "driftlab_runs" in await response.text()


async def test_cancelled_run_makes_no_more_llm_calls(aiohttp_client, redis, tmp_path, monkeypatch):
    """Cancelling a run in progress over HTTP stops its calls: the stub receives none after
    the cancel answered."""
    stub_client = await aiohttp_client(create_stub_app(latency_s=0.2))
    calls = stub_client.server.app[REQUESTS]
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    api = await aiohttp_client(create_app(api_settings(tmp_path, allow_server_paths=True)))
    topology = {"kind": "mixing", "graph": "small_world", "n_agents": 12, "human_sources": 3}
    spec = stub_spec(
        rounds=20, base_url=str(stub_client.make_url("/v1")), topology=topology, concurrency=4
    )
    run_id = await start(api, spec)
    for _ in range(200):
        if len(calls) >= 8:
            break
        await asyncio.sleep(0.05)
    response = await api.post(f"/v1/runs/{run_id}/cancel")
    assert response.status == 200
    assert (await response.json())["status"] == "cancelled"
    made = len(calls)
    await asyncio.sleep(1.0)
    assert len(calls) == made
    assert 8 <= made < 20 * 12
    record = await ProvenanceStore(redis).get_run(run_id)
    assert record["status"] == "cancelled" and record["counts"]["llm_calls"] <= made


async def test_event_stream_cap_keeps_the_newest_and_resumes_past_trimmed_ids(redis, monkeypatch):
    """A store capped by DRIFTLAB_EVENTS_MAXLEN keeps about that many events, the newest; a
    resume point that was trimmed away gets every event still held."""
    monkeypatch.setenv("DRIFTLAB_EVENTS_MAXLEN", "10")
    store = ProvenanceStore(redis, events_maxlen=Settings().events_maxlen)
    ids = [await store.add_event("capped", {"type": "round", "round": i}) for i in range(1000)]
    held = await store.events("capped")
    assert 10 <= len(held) < 1000
    assert [i for i, _ in held] == ids[-len(held) :]
    assert await store.read_events("capped", ids[0], count=2000) == held
