"""The HTTP API through aiohttp's test client, against the real Redis."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from service.api import ApiSettings, create_app
from service.api.serve import check_bind
from service.cli import main as cli_main
from service.errors import BadInput
from service.provenance import keys
from service.status import RunStatus
from tests.conftest import spec_dict, test_redis_url

TOKEN = "test-token-1234567890"
JSON = {"Content-Type": "application/json"}


def api_settings(tmp_path: Path, **overrides: Any) -> ApiSettings:
    return ApiSettings(redis_url=test_redis_url(), runs_dir=tmp_path / "runs", **overrides)


@pytest.fixture
async def api(aiohttp_client, redis, tmp_path):
    return await aiohttp_client(create_app(api_settings(tmp_path)))


async def finished(api, run_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    for _ in range(600):
        response = await api.get(f"/v1/runs/{run_id}", headers=headers)
        body = await response.json()
        if RunStatus(body["status"]).finished:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


async def start(api, spec: dict[str, Any], **kwargs: Any) -> str:
    response = await api.post("/v1/runs", json=spec, **kwargs)
    assert response.status == 202, await response.text()
    body = await response.json()
    assert response.headers["Location"] == f"/v1/runs/{body['id']}"
    return str(body["id"])


async def test_health_reports_redis(api):
    """Health answers 200 with Redis reachable."""
    response = await api.get("/v1/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "redis": True}


async def test_posted_run_runs_and_is_listed_with_messages_and_drift(api):
    """A posted spec runs to success; its run, messages, one message and drift are served."""
    run_id = await start(api, spec_dict(rounds=3))
    body = await finished(api, run_id)
    assert body["status"] == "succeeded"
    listed = await (await api.get("/v1/runs", params={"status": "succeeded"})).json()
    assert [item["id"] for item in listed["items"]] == [run_id]
    assert (await (await api.get("/v1/runs", params={"status": "failed"})).json())["items"] == []
    page = await (await api.get(f"/v1/runs/{run_id}/messages", params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["next_cursor"] is not None
    all_ids = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await (await api.get(f"/v1/runs/{run_id}/messages", params=params)).json()
        all_ids += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(all_ids) == len(set(all_ids)) == body["record"]["counts"]["messages"]
    models = await (
        await api.get(f"/v1/runs/{run_id}/messages", params={"origin": "model", "round": "1"})
    ).json()
    assert models["items"] and all(
        m["origin"] == "model" and m["round"] == 1 for m in models["items"]
    )
    one = await api.get(f"/v1/runs/{run_id}/messages/{all_ids[0]}")
    assert (await one.json())["id"] == all_ids[0]
    drift = await (await api.get(f"/v1/runs/{run_id}/drift")).json()
    assert drift["run"] == run_id and drift["drift"]


async def test_unknown_run_and_message_are_404_json(api):
    """Unknown runs and messages answer 404 with a JSON error."""
    response = await api.get("/v1/runs/nope")
    assert response.status == 404 and "nope" in (await response.json())["error"]
    run_id = await start(api, spec_dict(rounds=1))
    await finished(api, run_id)
    response = await api.get(f"/v1/runs/{run_id}/messages/missing")
    assert response.status == 404


async def test_invalid_spec_is_422_naming_each_field(api):
    """A bad spec answers 422 with every bad field named, as the CLI reports them."""
    response = await api.post("/v1/runs", json=spec_dict(rounds=0, seed="x"))
    assert response.status == 422
    fields = {p["field"] for p in (await response.json())["problems"]}
    assert {"rounds", "seed"} <= fields


async def test_server_fields_are_refused_unless_allowed(aiohttp_client, redis, tmp_path):
    """topology.path, base_url and api_key_env are refused by default (422 naming them)."""
    api = await aiohttp_client(create_app(api_settings(tmp_path)))
    spec = spec_dict(
        topology={"kind": "edges", "path": "/etc/passwd"},
        personas=[{"name": "p", "base_url": "http://x", "api_key_env": "HOME"}],
    )
    response = await api.post("/v1/runs", json=spec)
    assert response.status == 422
    fields = {p["field"] for p in (await response.json())["problems"]}
    assert fields == {"topology.path", "personas.0.base_url", "personas.0.api_key_env"}


async def test_idempotency_key_returns_the_same_run(api):
    """A retried POST with the same Idempotency-Key returns the first run, starting no other."""
    headers = {"Idempotency-Key": "k1"}
    first = await start(api, spec_dict(rounds=1), headers=headers)
    second = await start(api, spec_dict(rounds=1), headers=headers)
    assert first == second
    await finished(api, first)
    listed = await (await api.get("/v1/runs")).json()
    assert [item["id"] for item in listed["items"]] == [first]


async def test_runs_beyond_the_limit_queue(aiohttp_client, redis, tmp_path):
    """With one run slot, a second run waits as `queued`, then runs."""
    api = await aiohttp_client(create_app(api_settings(tmp_path, max_concurrent_runs=1)))
    first = await start(api, spec_dict(rounds=30))
    second = await start(api, spec_dict(rounds=1))
    assert (await (await api.get(f"/v1/runs/{second}")).json())["status"] == "queued"
    queued = await (await api.get("/v1/runs", params={"status": "queued"})).json()
    assert second in [item["id"] for item in queued["items"]]
    assert (await finished(api, second))["status"] == "succeeded"
    assert (await finished(api, first))["status"] == "succeeded"


async def test_cancel_and_delete(aiohttp_client, redis, tmp_path):
    """Cancel of a finished run is 409; delete is 409 while a process holds the run's lease,
    `?force=true` asks it to stop first, and delete removes every key of the run."""
    api = await aiohttp_client(create_app(api_settings(tmp_path, lease_s=0.5)))
    run_id = await start(api, spec_dict(rounds=2))
    await finished(api, run_id)
    assert (await api.post(f"/v1/runs/{run_id}/cancel")).status == 409
    await redis.set(keys.lease(run_id), "another-process", px=600)
    assert (await api.delete(f"/v1/runs/{run_id}")).status == 409
    assert (await api.delete(f"/v1/runs/{run_id}", params={"force": "true"})).status == 204
    assert (await api.get(f"/v1/runs/{run_id}")).status == 404
    assert not [k async for k in redis.scan_iter(match=f"*{run_id}*")]


async def test_bearer_token_guards_every_route_but_health(aiohttp_client, redis, tmp_path):
    """With a token, routes need the right bearer; health stays open."""
    settings = api_settings(tmp_path, api_token=SecretStr(TOKEN))
    api = await aiohttp_client(create_app(settings))
    assert (await api.get("/v1/health")).status == 200
    assert (await api.get("/v1/runs")).status == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await api.get("/v1/runs", headers=wrong)).status == 401
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert (await api.get("/v1/runs", headers=right)).status == 200


async def test_without_token_routes_are_open(api):
    """Without a token configured no Authorization header is needed."""
    assert (await api.get("/v1/runs")).status == 200


async def test_oversized_body_is_413(aiohttp_client, redis, tmp_path):
    """A body over max_body_bytes answers 413."""
    api = await aiohttp_client(create_app(api_settings(tmp_path, max_body_bytes=1000)))
    spec = spec_dict(source={"text": "word " * 1000})
    response = await api.post("/v1/runs", data=json.dumps(spec), headers=JSON)
    assert response.status == 413


def by_place(messages: list[dict[str, Any]]) -> dict[tuple[int, str], tuple[Any, ...]]:
    fields = ("text", "origin", "generation", "min_generation", "human_input_share", "observed")
    return {(m["round"], m["node"]): tuple(m[f] for f in fields) for m in messages}


async def test_http_and_cli_runs_store_the_same_texts_and_tags(api, tmp_path, monkeypatch):
    """A run started over HTTP and one from the CLI with the same spec and seed (synthetic
    backend) store the same texts and tags at every (round, node)."""
    spec = spec_dict(rounds=4, topology={"kind": "line", "n_agents": 4})
    run_id = await start(api, spec)
    stored = (await finished(api, run_id))["record"]["counts"]["messages"]
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    monkeypatch.setenv("DRIFTLAB_REDIS_URL", test_redis_url())
    argv = ["run", str(spec_file), "--run-id", "from-cli", "--out", str(tmp_path / "cli")]
    assert await asyncio.to_thread(cli_main, argv) == 0

    async def messages(run: str) -> list[dict[str, Any]]:
        page = await api.get(f"/v1/runs/{run}/messages", params={"limit": 1000})
        return list((await page.json())["items"])

    over_http, from_cli = by_place(await messages(run_id)), by_place(await messages("from-cli"))
    assert len(over_http) == stored and {r for r, _ in over_http} == {0, 1, 2, 3}
    assert over_http == from_cli


def test_serve_refuses_a_public_host_without_a_token(monkeypatch, capsys):
    """`driftlab serve --host 0.0.0.0` without DRIFTLAB_API_TOKEN exits 2 with one message."""
    monkeypatch.delenv("DRIFTLAB_API_TOKEN", raising=False)
    assert cli_main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "DRIFTLAB_API_TOKEN" in capsys.readouterr().err


def test_serve_accepts_loopback_or_a_token():
    """Loopback needs no token; a public host does."""
    check_bind("127.0.0.1", ApiSettings())
    check_bind("::1", ApiSettings())
    check_bind("0.0.0.0", ApiSettings(api_token=SecretStr(TOKEN)))
    with pytest.raises(BadInput):
        check_bind("10.0.0.5", ApiSettings())


async def test_a_body_that_is_not_utf8_is_422(api):
    """A body of bytes that are not UTF-8 answers 422 JSON, not 500."""
    response = await api.post(
        "/v1/runs", data=b"\xff\xfe{}", headers={"Content-Type": "application/json"}
    )
    assert response.status == 422
    assert (await response.json())["error"].startswith("the body is not UTF-8 JSON")
