"""The server against an attacker and a careless client, on loopback: user patterns and grids
that cannot stall it, web pages that cannot drive it, one policy on every route that starts
work, bodies that cannot crash it, and a lost Redis answered 503 at once."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from service.api import ApiSettings, create_app
from service.api.guards import WORK_ROUTES
from service.api.redis_watch import PING_TIMEOUT_S, REDIS_WATCH
from service.api.routes import ROUTE_GROUPS
from service.provenance import keys
from service.provenance.redis_conn import masked
from service.provenance.workers import announce
from service.redaction import redact
from service.run import distributed
from service.status import RunStatus
from tests.conftest import free_port, spec_dict
from tests.redis_process import RedisServer
from tests.test_api import JSON, TOKEN, api_settings, finished, start

WORST_PATTERN = "(a+)+$"  # exponential for a backtracking engine on "aaa...a!"
HEALTH_BUDGET_S = 0.1
NOT_WORK = {
    ("POST", "/v1/runs/{run}/cancel"),
    ("POST", "/v1/topologies/preview"),
    ("DELETE", "/v1/runs/{run}"),
    ("POST", "/v1/studies/{study}/cancel"),
    ("DELETE", "/v1/studies/{study}"),
}


@pytest.fixture
async def api(aiohttp_client, redis, tmp_path):
    return await aiohttp_client(create_app(api_settings(tmp_path)))


async def slowest_health(api, busy: asyncio.Task[Any]) -> float:
    """The longest /v1/health answer time while `busy` goes on (at least one probe)."""
    slowest = 0.0
    while True:
        started = time.perf_counter()
        response = await api.get("/v1/health")
        assert response.status == 200
        slowest = max(slowest, time.perf_counter() - started)
        if busy.done():
            return slowest
        await asyncio.sleep(0.02)


def problems(body: dict[str, Any]) -> dict[str, str]:
    return {p["field"]: p["message"] for p in body["problems"]}


# user patterns and grids -----------------------------------------------------------------


async def test_the_worst_pattern_never_stalls_the_server(api):
    """A catastrophic-backtracking fact pattern on a text built to trigger it is matched in
    linear time: the preview answers (422: it misses the text) and health stays fast."""
    spec = spec_dict(
        source={"text": "a" * 5000 + "!", "facts": [{"name": "x", "patterns": [WORST_PATTERN]}]}
    )
    busy = asyncio.ensure_future(api.post("/v1/topologies/preview", json=spec))
    assert await slowest_health(api, busy) < HEALTH_BUDGET_S
    response = await busy
    assert response.status == 422
    assert "does not match the source text" in json.dumps(await response.json())


async def test_backtracking_only_syntax_is_a_spec_error_naming_the_field(api):
    """A look-behind or a back-reference is refused with a clear message naming the fact."""
    for pattern in (r"(?<!\d)1962", r"(19)\1"):
        spec = spec_dict(
            source={"text": "in 1962", "facts": [{"name": "y", "patterns": [pattern]}]}
        )
        response = await api.post("/v1/runs", json=spec)
        assert response.status == 422
        found = problems(await response.json())
        assert any(f.startswith("source.facts.0") for f in found), found
        assert "not supported" in json.dumps(found)


async def test_a_grid_over_the_limit_is_refused_before_it_is_expanded(
    aiohttp_client, redis, tmp_path
):
    """A study asking for more runs than max_study_runs answers 422 naming the grid, at once."""
    app = create_app(api_settings(tmp_path, max_study_runs=50))
    api = await aiohttp_client(app)
    study = {
        "base": spec_dict(),
        "grid": {"seed": list(range(1000)), "rounds": list(range(1, 1001))},
        "replicates": 5,
    }
    started = time.perf_counter()
    response = await api.post("/v1/studies", json=study)
    assert response.status == 422
    assert "DRIFTLAB_MAX_STUDY_RUNS" in problems(await response.json())["grid"]
    assert time.perf_counter() - started < 1.0


async def test_a_large_study_is_validated_off_the_event_loop(aiohttp_client, redis, tmp_path):
    """While a 600-run study is expanded and checked (then refused by policy), health answers
    within 100 ms."""
    app = create_app(api_settings(tmp_path, allowed_backends=frozenset({"openai"})))
    api = await aiohttp_client(app)
    study = {"base": spec_dict(), "grid": {"seed": list(range(200))}, "replicates": 3}
    busy = asyncio.ensure_future(api.post("/v1/studies", json=study))
    assert await slowest_health(api, busy) < HEALTH_BUDGET_S
    response = await busy
    assert response.status == 422
    assert "DRIFTLAB_ALLOWED_BACKENDS" in json.dumps(await response.json())


# web pages and tokens ---------------------------------------------------------------------


async def test_a_foreign_host_header_is_refused_without_a_token(api):
    """DNS rebinding: a Host that is not loopback, the bind address or an allowed host: 403."""
    response = await api.get("/v1/runs", headers={"Host": "attacker.example:8000"})
    assert response.status == 403
    assert "DRIFTLAB_ALLOWED_HOSTS" in (await response.json())["error"]
    for host in ("127.0.0.1", "localhost:1234", "[::1]:80"):
        assert (await api.get("/v1/runs", headers={"Host": host})).status == 200


async def test_allowed_hosts_and_origins_are_served(aiohttp_client, redis, tmp_path):
    """DRIFTLAB_ALLOWED_HOSTS and DRIFTLAB_ALLOWED_ORIGINS extend what is served."""
    settings = api_settings(
        tmp_path,
        allowed_hosts=frozenset({"lab.internal"}),
        allowed_origins=frozenset({"http://lab.internal:3000"}),
    )
    api = await aiohttp_client(create_app(settings))
    headers = {"Host": "lab.internal", "Origin": "http://lab.internal:3000"}
    assert (await api.get("/v1/runs", headers=headers)).status == 200


async def test_cross_site_requests_are_refused_and_same_origin_ones_pass(api):
    """A page on another origin cannot start a run (403); the server's own page can."""
    spec = spec_dict(rounds=1)
    evil = await api.post("/v1/runs", json=spec, headers={"Origin": "https://evil.example"})
    assert evil.status == 403
    assert "DRIFTLAB_ALLOWED_ORIGINS" in (await evil.json())["error"]
    null = await api.post("/v1/runs", json=spec, headers={"Origin": "null"})
    assert null.status == 403
    own = f"http://{api.server.host}:{api.server.port}"
    assert (await api.post("/v1/runs", json=spec, headers={"Origin": own})).status == 202


async def test_state_changing_requests_must_send_json(api):
    """A text/plain or form POST (what a page may send across sites unasked) is 415."""
    body = json.dumps(spec_dict(rounds=1))
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await api.post("/v1/runs", data=body, headers={"Content-Type": media})
        assert response.status == 415, media
        assert "application/json" in (await response.json())["error"]
    cancel = await api.post("/v1/runs/nope/cancel", headers={"Content-Type": "text/plain"})
    assert cancel.status == 415
    assert (await api.post("/v1/runs", data=body, headers=JSON)).status == 202


async def test_with_a_token_the_host_is_not_checked(aiohttp_client, redis, tmp_path):
    """Behind a proxy (a token set) any Host is served once the token is right."""
    settings = api_settings(tmp_path, api_token=SecretStr(TOKEN))
    api = await aiohttp_client(create_app(settings))
    headers = {"Host": "driftlab.example.org", "Authorization": f"Bearer {TOKEN}"}
    assert (await api.get("/v1/runs", headers=headers)).status == 200
    assert (await api.get("/v1/runs", headers={"Host": "driftlab.example.org"})).status == 401


@pytest.mark.parametrize("token", ["", "   ", "x", "short-token"])
def test_empty_or_short_tokens_are_refused(token):
    """An empty token is no token, and one under 16 characters is refused."""
    with pytest.raises(ValidationError, match="at least 16 characters"):
        ApiSettings(api_token=SecretStr(token))


# one policy on every route that starts work -----------------------------------------------


def test_every_route_that_changes_state_is_known_to_start_work_or_not():
    """A new state-changing route must be listed as work (decided by `admit`) or not."""
    changing = {
        (op.method, op.path)
        for group in ROUTE_GROUPS
        for op in group.operations
        if op.method in ("POST", "PUT", "PATCH", "DELETE")
    }
    assert changing == WORK_ROUTES | NOT_WORK


async def cancelled_run(api) -> str:
    """A run of the OpenAI stub (started by `openai_endpoint`) cancelled mid-run."""
    spec = spec_dict(backend="openai", model="stub-model", rounds=20, concurrency=1)
    run_id = await start(api, spec)
    for _ in range(400):
        view = await (await api.get(f"/v1/runs/{run_id}")).json()
        if view["status"] == RunStatus.RUNNING:
            break
        await asyncio.sleep(0.02)
    response = await api.post(f"/v1/runs/{run_id}/cancel")
    assert (await response.json())["status"] == RunStatus.CANCELLED
    return run_id


FORBIDDEN: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"allowed_backends": frozenset({"synthetic"})}, {"backend": "openai"}, "backend"),
    ({"allow_distributed": False}, {"distributed": True}, "distributed"),
    ({}, {"backend": "local", "model": "models/Big.GGUF"}, "model"),
    ({}, {"backend": "local", "model": "SomeOtherModel"}, "model"),
    ({}, {"embedder": "local", "embedder_model": "./minilm"}, "embedder_model"),
    ({}, {"embedder": "local", "embedder_model": "sentence-transformers/x"}, "embedder_model"),
]


@pytest.mark.parametrize(("settings", "change", "field"), FORBIDDEN)
async def test_policy_applies_to_every_route_that_starts_work(
    aiohttp_client, redis, store, tmp_path: Path, openai_endpoint, settings, change, field
):
    """Create, study (and a study posted again: its retry) and resume of a stored run (as the
    CLI may store it) refuse what the server's settings forbid, naming the field."""
    await openai_endpoint(latency_s=0.3)
    strict = await aiohttp_client(create_app(api_settings(tmp_path, **settings)))
    spec = spec_dict(rounds=1, **change)
    attempts = {"/v1/runs": spec, "/v1/studies": {"base": spec, "grid": {"seed": [1, 2]}}}
    for path, body in attempts.items():
        for _ in range(2):
            response = await strict.post(path, json=body)
            assert response.status == 422, (path, await response.text())
            assert any(field in f for f in problems(await response.json())), path
    lenient = await aiohttp_client(create_app(api_settings(tmp_path)))
    run_id = await cancelled_run(lenient)
    stored = (await store.get_run(run_id))["spec"]
    await store.redis.hset(keys.run(run_id), "spec", json.dumps({**stored, **change}))
    response = await strict.post(f"/v1/runs/{run_id}/resume")
    assert response.status == 422, await response.text()
    assert any(field in f for f in problems(await response.json()))


# bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("[" * 1000 + "]" * 1000, "levels deep"),
        ('{"rounds": ' + "9" * 5000 + "}", "digits"),
        ('{"rounds": 1, "rounds": 2}', "twice"),
        ('{"rounds": NaN}', "not JSON"),
        ('{"rounds": 1e999}', "too large"),
        ('{"a": "\\ud800"', "not UTF-8 JSON"),
    ],
)
async def test_hostile_bodies_are_4xx_json(api, body, needle):
    """Deep nesting, huge numbers, duplicate keys, NaN and broken JSON: 422 JSON, never 500."""
    for path in ("/v1/runs", "/v1/studies", "/v1/topologies/preview"):
        response = await api.post(path, data=body, headers=JSON)
        assert response.status == 422, (path, await response.text())
        assert needle in (await response.json())["error"]


async def test_a_duplicate_key_names_its_field(api):
    response = await api.post("/v1/runs", data='{"seed": 1, "seed": 2}', headers=JSON)
    assert problems(await response.json()) == {"seed": "the key 'seed' appears twice in one object"}


async def test_an_idempotency_key_reused_with_another_body_is_422(api):
    """The same key and body return the first run; the same key with another body is 422."""
    headers = {"Idempotency-Key": "k-1"}
    first = await start(api, spec_dict(rounds=1), headers=headers)
    same = await api.post("/v1/runs", json=spec_dict(rounds=1), headers=headers)
    assert (await same.json())["id"] == first
    other = await api.post("/v1/runs", json=spec_dict(rounds=2), headers=headers)
    assert other.status == 422
    assert "Idempotency-Key" in problems(await other.json())


# edges --------------------------------------------------------------------------------------


async def test_unknown_paths_and_methods_answer_json(api):
    """404 and 405 are JSON error bodies everywhere (405 with Allow); `/` is the dashboard."""
    for path in ("/nope", "/v1/nope", "/ui/nope.js"):
        response = await api.get(path)
        assert response.status == 404
        assert response.content_type == "application/json"
        assert (await response.json())["error"]
    response = await api.put("/v1/runs", json={})
    assert response.status == 405 and "GET" in response.headers["Allow"]
    assert (await response.json())["error"]


async def test_studies_are_listed_newest_first_in_pages(api):
    """GET /v1/studies pages through the studies started over HTTP."""
    ids = []
    for seed in (1, 2, 3):
        study = {"name": f"s{seed}", "base": spec_dict(rounds=1), "grid": {"seed": [seed]}}
        response = await api.post("/v1/studies", json=study)
        assert response.status == 202, await response.text()
        ids.append((await response.json())["id"])
    page = await (await api.get("/v1/studies", params={"limit": 2})).json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = await (await api.get("/v1/studies", params={"cursor": page["next_cursor"]})).json()
    assert [item["id"] for item in rest["items"]] == ids[:1] and rest["next_cursor"] is None


async def test_a_run_record_carries_numbers_as_numbers(api):
    """`rounds`, `agents` and `replicate` are JSON numbers in the run view."""
    run_id = await start(api, spec_dict(rounds=2))
    record = (await finished(api, run_id))["record"]
    assert (record["rounds"], record["agents"], record["replicate"]) == (2, 3, 0)


def test_secrets_in_urls_are_masked():
    """A password in the user part or in the query string never shows."""
    url = "redis://user:hunter2@cache:6379/0?password=hunter2&ssl_cert_reqs=none"
    for shown in (masked(url), redact(f"failed at {url}: refused")):
        assert "hunter2" not in shown and "ssl_cert_reqs=none" in shown
    assert "hunter2" not in redact("https://api.example/v1?api_key=hunter2")


# a lost Redis ---------------------------------------------------------------------------------


async def test_every_route_answers_503_within_2_s_when_redis_goes(aiohttp_client, tmp_path):
    """With Redis killed, health says so within 2 s and every route needing Redis answers
    503 JSON with Retry-After in < 2 s; they answer again once Redis is back."""
    server = RedisServer(free_port(), tmp_path / "redis")
    await server.start()
    try:
        settings = ApiSettings(
            redis_url=f"redis://127.0.0.1:{server.port}/0", runs_dir=tmp_path / "runs"
        )
        api = await aiohttp_client(create_app(settings))
        assert (await api.get("/v1/runs")).status == 200
        await server.kill()
        killed = time.perf_counter()
        while (await api.get("/v1/health")).status != 503:
            assert time.perf_counter() - killed < 2.0, "health still says ok 2 s after"
            await asyncio.sleep(0.05)
        requests = [
            ("GET", "/v1/runs", None),
            ("GET", "/v1/runs/some-run", None),
            ("GET", "/v1/runs/some-run/messages", None),
            ("GET", "/v1/studies", None),
            ("GET", "/metrics", None),
            ("POST", "/v1/runs", spec_dict(rounds=1)),
            ("POST", "/v1/runs/some-run/cancel", None),
            ("DELETE", "/v1/runs/some-run", None),
        ]
        for method, path, body in requests:
            started = time.perf_counter()
            response = await api.request(method, path, json=body)
            elapsed = time.perf_counter() - started
            assert response.status == 503, (path, await response.text())
            assert elapsed < 2.0, (path, elapsed)
            assert int(response.headers["Retry-After"]) > 0
            assert "Redis is not reachable" in (await response.json())["error"]
        await server.start()
        assert (await api.get("/v1/runs")).status == 200
    finally:
        await server.kill()


async def test_a_request_waiting_on_redis_when_it_goes_answers_503_at_once(
    aiohttp_client, tmp_path
):
    """A request caught while Redis dies answers 503 within 2 s, not after the client's
    reconnection attempts (10 to 20 s)."""
    server = RedisServer(free_port(), tmp_path / "redis")
    await server.start()
    try:
        settings = ApiSettings(
            redis_url=f"redis://127.0.0.1:{server.port}/0", runs_dir=tmp_path / "runs"
        )
        api = await aiohttp_client(create_app(settings))
        assert (await api.get("/v1/runs")).status == 200
        await server.kill()
        started = time.perf_counter()
        response = await api.get("/v1/runs")  # before the watch has noticed
        assert response.status == 503
        assert time.perf_counter() - started < 2.0
    finally:
        await server.kill()


# Redis busy with a script for `ARGV[1]` ms: other clients wait, as behind a large pipeline
BUSY_SCRIPT = """
local start = redis.call('TIME')
local now = start
while (now[1] - start[1]) * 1000 + (now[2] - start[2]) / 1000 < tonumber(ARGV[1]) do
  now = redis.call('TIME')
end
return 1
"""


async def test_a_busy_redis_is_not_taken_for_a_lost_one(api, redis):
    """Redis answering later than the watch's ping timeout (busy with a large run's writes on
    a loaded machine) is slow, not lost: a request waits for it and answers 200, and the
    watch never reports it lost. A killed Redis is still noticed at once (above)."""
    watch = api.server.app[REDIS_WATCH]
    lost = asyncio.ensure_future(watch.lost.wait())
    try:
        for _ in range(2):
            busy = asyncio.ensure_future(redis.eval(BUSY_SCRIPT, 0, 1000 * PING_TIMEOUT_S + 700))
            await asyncio.sleep(0.1)  # the script holds Redis: the next ping waits behind it
            assert (await api.get("/v1/runs")).status == 200
            assert (await api.get("/v1/health")).status == 200
            await busy
        assert not lost.done(), "a busy Redis was reported as lost"
    finally:
        lost.cancel()


# distributed runs over HTTP -----------------------------------------------------------------


async def test_a_distributed_run_without_workers_is_409(api, redis):
    """No worker announced within DRIFTLAB_WORKER_WAIT_S: 409, nothing started."""
    response = await api.post("/v1/runs", json=spec_dict(rounds=1, distributed=True))
    assert response.status == 409
    assert "DRIFTLAB_WORKER_WAIT_S" in (await response.json())["error"]
    assert (await (await api.get("/v1/runs")).json())["items"] == []


async def test_a_run_whose_workers_all_go_silent_fails_clearly(api, redis, monkeypatch):
    """A distributed run whose only worker stops announcing itself ends `failed`, saying so,
    instead of waiting forever."""
    monkeypatch.setattr(distributed, "SILENT_AFTER_S", 1.0)
    await announce(redis, "worker-that-dies")
    run_id = await start(api, spec_dict(rounds=1, distributed=True))
    body = await finished(api, run_id)
    assert body["status"] == RunStatus.FAILED
    assert "went silent" in body["record"]["error"]
