"""The HTTP API's studies, topology preview, personas, per-caller run limit and content
logging, through aiohttp's test client against the real Redis."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from agents.personas import BUILTIN_PERSONAS
from service.api import create_app
from service.provenance import keys
from service.status import RunStatus
from tests.conftest import spec_dict
from tests.test_api import api, api_settings, finished, start

__all__ = ["api"]  # the fixture, imported for the tests below

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def study_dict(**overrides: Any) -> dict[str, Any]:
    """A small synthetic study: two numeric axes of two values (4 conditions, 4 runs)."""
    study: dict[str, Any] = {
        "name": "http-study",
        "base": spec_dict(
            rounds=3,
            topology={"kind": "line", "n_agents": 3},
            human_corpus=["A fresh human retelling of the source."],
        ),
        "grid": {"injection.rate": [0, 0.5], "provenance.tag_loss": [0, 0.5]},
        "replicates": 1,
        "parallel": 2,
    }
    study.update(overrides)
    return study


async def study_finished(api, study_id: str) -> dict[str, Any]:
    for _ in range(1200):
        response = await api.get(f"/v1/studies/{study_id}")
        assert response.status == 200, await response.text()
        body = await response.json()
        if RunStatus(body["status"]).finished:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"study {study_id} did not finish")


async def post_study(api, study: dict[str, Any]) -> str:
    response = await api.post("/v1/studies", json=study)
    assert response.status == 202, await response.text()
    body = await response.json()
    assert response.headers["Location"] == f"/v1/studies/{body['id']}" == body["location"]
    return str(body["id"])


async def test_study_runs_and_serves_its_summary_and_plots(api, aiohttp_client, tmp_path):
    """A posted study runs every condition to success under the server's runs_dir; its
    state, summary (markdown and JSON) and both plots are served, also by a second server."""
    study_id = await post_study(api, study_dict())
    body = await study_finished(api, study_id)
    assert body["status"] == "succeeded", body
    assert len(body["conditions"]) == 4 and len(body["runs"]) == 4
    assert body["progress"] == {"total": 4, "finished": 4, "succeeded": 4, "fraction": 1.0}
    assert {"summary.md", "study.png", "phase.png"} <= set(body["outputs"])
    assert (tmp_path / "runs" / "studies" / study_id / "summary.md").is_file()
    run_id = body["runs"][0]["id"]
    assert (await (await api.get(f"/v1/runs/{run_id}")).json())["status"] == "succeeded"

    summary = await api.get(f"/v1/studies/{study_id}/summary")
    assert summary.content_type == "text/markdown"
    assert (await summary.text()).startswith("# Study http-study")
    finals = await (
        await api.get(f"/v1/studies/{study_id}/summary", headers={"Accept": "application/json"})
    ).json()
    assert [c["condition"] for c in finals["conditions"]] == [c["name"] for c in body["conditions"]]
    assert all(c["round"] == 2 for c in finals["conditions"])
    retention = finals["conditions"][0]["metrics"]["fact_retention"]
    assert retention["n"] == 1 and 0 <= retention["mean"] <= 1
    statistics = finals["statistics"]
    assert [c["runs"] for c in statistics["conditions"]] == [1, 1, 1, 1]
    assert statistics["unreliable"] and statistics["fewest_replicates"] == 1
    assert {c["measure"] for c in statistics["comparisons"]} == {
        "final",
        "population",
        "spoke_share",
    }
    for plot in ("study.png", "phase.png"):
        response = await api.get(f"/v1/studies/{study_id}/{plot}")
        assert response.status == 200 and response.content_type == "image/png"
        assert (await response.read()).startswith(PNG_MAGIC)

    second = await aiohttp_client(create_app(api_settings(tmp_path)))
    again = await (await second.get(f"/v1/studies/{study_id}")).json()
    assert again["status"] == "succeeded" and again["runs"] == body["runs"]


async def test_study_reposted_resumes_keeping_its_runs(api, redis):
    """The same study posted again gets the same id and keeps the runs that succeeded; one
    whose server is gone (running, no lease) reads as interrupted."""
    study = study_dict(grid={"injection.rate": [0, 0.5]})
    study_id = await post_study(api, study)
    first = await study_finished(api, study_id)
    await redis.hset(keys.study(study_id), "status", "running")
    lost = await (await api.get(f"/v1/studies/{study_id}")).json()
    assert lost["status"] == "interrupted"
    assert await post_study(api, study) == study_id
    again = await study_finished(api, study_id)
    assert again["status"] == "succeeded" and again["runs"] == first["runs"]


async def test_a_study_stopped_with_its_server_is_cancelled_and_resumes(
    aiohttp_client, redis, tmp_path
):
    """A server that stops cancels its study (`cancelled`, as the next server reads it);
    posted again there, it resumes to success."""
    base = study_dict()["base"] | {"rounds": 60}
    study = study_dict(base=base, grid={"injection.rate": [0, 0.5]})
    first = await aiohttp_client(create_app(api_settings(tmp_path, max_concurrent_runs=1)))
    study_id = await post_study(first, study)
    for _ in range(400):
        view = await (await first.get(f"/v1/studies/{study_id}")).json()
        if any(run["status"] == "running" for run in view["runs"]):
            break
        await asyncio.sleep(0.02)
    await first.close()
    second = await aiohttp_client(create_app(api_settings(tmp_path)))
    stopped = await (await second.get(f"/v1/studies/{study_id}")).json()
    assert stopped["status"] == "cancelled" and stopped["progress"]["succeeded"] < 2
    assert await post_study(second, study) == study_id
    assert (await study_finished(second, study_id))["status"] == "succeeded"


async def test_unknown_study_is_404(api):
    """An unknown study id answers 404 on its view, summary and plot."""
    for path in ("", "/summary", "/study.png"):
        response = await api.get(f"/v1/studies/nope{path}")
        assert response.status == 404 and "nope" in (await response.json())["error"]


async def test_invalid_studies_are_422_naming_the_field(api):
    """An unknown study field, an empty grid, a base spec file, a server path inside the
    base, set by a dotted path or among a grid's values, a bad value in one condition and
    replicates 0 or auto (for the CLI only) are refused, each naming its field."""
    cases = [
        (study_dict(grids={"rounds": [1]}), "grids"),
        (study_dict(grid={}), "grid"),
        (study_dict(base="../mixing-injection.yaml"), "base"),
        (
            study_dict(base=spec_dict(topology={"kind": "edges", "path": "/x"})),
            "base.topology.path",
        ),
        (study_dict(set={"topology.path": "/x"}), "set.topology.path"),
        (study_dict(grid={"model": ["gpt-4o-mini", "/models/x.gguf"]}), "grid.model"),
        (study_dict(grid={"injection.rate": [0, 2.0]}), "condition [injection.rate=2.0]"),
        (study_dict(replicates="auto"), "replicates"),
        (study_dict(replicates=0), "replicates"),
    ]
    for study, field in cases:
        response = await api.post("/v1/studies", json=study)
        assert response.status == 422, (field, await response.text())
        fields = [p["field"] for p in (await response.json())["problems"]]
        assert any(f.startswith(field) for f in fields), (field, fields)


async def test_preview_answers_nodes_roles_and_edges(api):
    """A complete mixing graph of 6 agents with 2 human sources previews as 8 nodes (2 human
    sources, 6 agents with personas) and 6*5 + 2 edges, sources with no in-edges."""
    spec = spec_dict(
        topology={
            "kind": "mixing",
            "graph": "complete",
            "n_agents": 6,
            "human_sources": 2,
            "attach_to": ["a1", "a4"],
        }
    )
    response = await api.post("/v1/topologies/preview", json=spec)
    assert response.status == 200, await response.text()
    preview = await response.json()
    roles = {node["id"]: node["role"] for node in preview["nodes"]}
    assert len(roles) == 8 and preview["agents"] == 6 and preview["human_sources"] == 2
    assert sorted(n for n, role in roles.items() if role == "human_source") == ["h0", "h1"]
    edges = {(e["source"], e["target"]) for e in preview["edges"]}
    assert len(edges) == 32
    assert {(s, t) for s, t in edges if s.startswith("h")} == {("h0", "a1"), ("h1", "a4")}
    assert not [t for _, t in edges if t.startswith("h")]
    personas = {n["persona"] for n in preview["nodes"] if n["role"] == "agent"}
    assert personas == {"editor", "tabloid"}
    assert (await api.get("/v1/runs")).status == 200
    assert (await (await api.get("/v1/runs")).json())["items"] == []


async def test_preview_of_a_bad_spec_is_422(api):
    """A preview of an invalid spec names the bad field."""
    response = await api.post("/v1/topologies/preview", json=spec_dict(topology={"kind": "x"}))
    assert response.status == 422
    assert any(p["field"].startswith("topology") for p in (await response.json())["problems"])


async def test_personas_lists_the_bundled_ones(api):
    """GET /v1/personas lists every bundled persona with its description and prompt."""
    body = await (await api.get("/v1/personas")).json()
    assert body["next_cursor"] is None
    items = {p["name"]: p for p in body["items"]}
    assert set(items) == set(BUILTIN_PERSONAS) and len(items) == 6
    assert items["editor"]["system"] == BUILTIN_PERSONAS["editor"].system
    assert all(p["description"] for p in items.values())


async def test_runs_beyond_the_callers_limit_are_429(
    aiohttp_client, redis, tmp_path, openai_endpoint
):
    """With one run per caller, a second run or a study while the first is live answers 429
    with Retry-After and a JSON error; once the first ended a run starts again."""
    await openai_endpoint(latency_s=0.5)
    api = await aiohttp_client(create_app(api_settings(tmp_path, max_runs_per_token=1)))
    live = await start(api, spec_dict(backend="openai", rounds=50))
    for path, body in (("/v1/runs", spec_dict(rounds=1)), ("/v1/studies", study_dict())):
        response = await api.post(path, json=body)
        assert response.status == 429, await response.text()
        assert int(response.headers["Retry-After"]) > 0
        assert "DRIFTLAB_MAX_RUNS_PER_TOKEN" in (await response.json())["error"]
    retried = await api.post("/v1/runs", json=spec_dict(rounds=1), headers={"Idempotency-Key": "i"})
    assert retried.status == 429
    assert (await api.post(f"/v1/runs/{live}/cancel")).status == 200
    after = await start(api, spec_dict(rounds=1), headers={"Idempotency-Key": "i"})
    assert (await finished(api, after))["status"] == "succeeded"


async def echoing_endpoint(aiohttp_server, monkeypatch) -> None:
    """An OpenAI-compatible server that refuses every call with an error quoting the prompt
    (as some servers' validation errors do), set as OPENAI_BASE_URL."""

    async def refuse(request: web.Request) -> web.Response:
        prompt = " ".join((await request.json())["messages"][-1]["content"].split())
        return web.json_response({"error": {"message": f"cannot serve: {prompt}"}}, status=400)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", refuse)
    server = await aiohttp_server(app)
    monkeypatch.setenv("OPENAI_BASE_URL", str(server.make_url("/v1")))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


async def logged_run(api, caplog, spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Run `spec` over HTTP with every logger at DEBUG; its final view and all that was
    logged meanwhile."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        run_id = await start(api, spec)
        body = await finished(api, run_id)
        await asyncio.sleep(0.1)  # the run task's end is logged after its status is written
    return body, caplog.text


async def test_no_content_in_logs_unless_switched_on(
    aiohttp_client, aiohttp_server, redis, tmp_path, openai_endpoint, caplog, monkeypatch
):
    """Without DRIFTLAB_LOG_CONTENT no message text or prompt reaches the logs, neither from
    a run that succeeds nor from one whose backend error quotes the prompt (logged by type);
    with it, that error is logged whole."""
    source = spec_dict()["source"]["text"][:40]
    await openai_endpoint()
    quiet = await aiohttp_client(create_app(api_settings(tmp_path)))
    body, logged = await logged_run(quiet, caplog, spec_dict(backend="openai", rounds=2))
    assert body["status"] == "succeeded" and "POST /v1/runs" in logged
    page = await (await quiet.get(f"/v1/runs/{body['id']}/messages")).json()
    texts = [m["text"] for m in page["items"]] + [m["system"] for m in page["items"] if m["system"]]
    assert len(texts) > 3 and not [text for text in texts if text[:40] in logged]

    await echoing_endpoint(aiohttp_server, monkeypatch)
    failing = spec_dict(backend="openai", rounds=2, on_error="fail")
    body, logged = await logged_run(quiet, caplog, failing)
    assert body["status"] == "failed" and source in body["record"]["error"]
    assert f"run {body['id']} ended with" in logged and source not in logged
    loud = await aiohttp_client(create_app(api_settings(tmp_path, log_content=True)))
    body, logged = await logged_run(loud, caplog, failing)
    assert body["status"] == "failed" and source in logged
