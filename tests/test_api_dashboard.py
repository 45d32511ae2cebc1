"""What the dashboard reads from the API: per-message drift and parents in the round events,
the page and its files (open without the token), the bundled examples, a stored run's
topology and the list of studies, through aiohttp's test client against the real Redis."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean

import yaml
from pydantic import SecretStr

from service.api import create_app
from service.api.models import TopologyPreview
from service.provenance import keys
from tests.conftest import spec_dict
from tests.test_api import TOKEN, api, api_settings, finished, start
from tests.test_api_events import read_events
from tests.test_api_studies import post_study, study_dict, study_finished

__all__ = ["api"]  # the fixture, imported from test_api

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MIXING = {"kind": "mixing", "graph": "small_world", "n_agents": 6, "k": 2, "human_sources": 2}


async def test_round_events_carry_each_messages_drift_and_parents(api, store):
    """Each round event's message_drift columns and message_parents line up with its
    message_ids and equal the stored messages' drift and parents' nodes; `drift` holds the
    means over the round's model messages."""
    run_id = await start(api, spec_dict(rounds=3, topology=MIXING, max_inputs=2))
    await finished(api, run_id)
    rounds = [e.data for e in await read_events(api, run_id) if e.event == "round"]
    merged = 0
    for event in rounds:
        messages = await store.get_messages(run_id, event["message_ids"])
        assert all(message is not None for message in messages)
        columns = event["message_drift"]
        assert columns["generation"] == [m.generation for m in messages]
        assert columns["length_words"] == [m.drift.length_words for m in messages]
        assert columns["fact_retention"] == [m.drift.fact_retention for m in messages]
        parents = [[p.rsplit(":", 1)[1] for p in m.parents] for m in messages]
        assert event["message_parents"] == parents
        merged += sum(len(p) > 1 for p in parents)
        model = [m for m in messages if m.origin == "model"]
        assert event["drift"]["model_messages"] == len(model)
        if model:
            assert event["drift"]["length_words"] == fmean(m.drift.length_words for m in model)
    assert merged, "a mixing network with max_inputs=2 merges texts"


async def test_page_and_files_are_served_without_the_token(aiohttp_client, redis, tmp_path):
    """`/` and its scripts load without a token (they hold no data); the API still needs it;
    an unknown file is a JSON 404."""
    app = create_app(api_settings(tmp_path, api_token=SecretStr(TOKEN)))
    client = await aiohttp_client(app)
    page = await client.get("/")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    html = await page.text()
    assert 'src="ui/app.js"' in html and "ui/vendor/graphology.umd.min.js" in html
    for path in ("/ui/app.js", "/ui/vendor/graphology.umd.min.js", "/ui/vendor/uPlot.min.css"):
        assert (await client.get(path)).status == 200, path
    missing = await client.get("/ui/nothing.js")
    assert missing.status == 404 and "nothing.js" in (await missing.json())["error"]
    assert (await client.get("/v1/examples")).status == 401


async def test_examples_list_runs_and_studies_with_their_base_inline(api):
    """The bundled examples are listed as YAML; a study's base file is inlined as a mapping,
    so the study can be posted as it is."""
    items = {item["name"]: item for item in (await (await api.get("/v1/examples")).json())["items"]}
    assert items["telephone-chain"]["kind"] == "run"
    assert yaml.safe_load(items["telephone-chain"]["yaml"])["topology"]["kind"] == "line"
    study = items["studies/phase-diagram"]
    assert study["kind"] == "study"
    base = yaml.safe_load((EXAMPLES / "mixing-injection.yaml").read_text(encoding="utf-8"))
    assert yaml.safe_load(study["yaml"])["base"] == base


async def test_a_stored_runs_topology_is_its_specs_preview_kept_with_the_run(api, redis):
    """`GET /v1/runs/{id}/topology` gives the graph that previewing the run's spec gives (a
    valid TopologyPreview); the run keeps it from its start, a run stored without it has it
    built at the first request and kept, and it is removed with the run."""
    spec = spec_dict(rounds=1, topology=MIXING)
    run_id = await start(api, spec)
    await finished(api, run_id)
    from_the_start = json.loads(await redis.get(keys.topology(run_id)))
    await redis.delete(keys.topology(run_id))  # as a run stored before runs kept it
    stored = await (await api.get(f"/v1/runs/{run_id}/topology")).json()
    assert stored == from_the_start
    preview = await (await api.post("/v1/topologies/preview", json=spec)).json()
    assert stored == preview and stored["human_sources"] == 2
    assert TopologyPreview.model_validate(stored).model_dump() == stored
    assert {node["persona"] for node in stored["nodes"] if node["role"] == "agent"} <= {
        "editor",
        "tabloid",
    }
    kept = json.loads(await redis.get(keys.topology(run_id)))
    assert kept == stored
    await redis.set(keys.topology(run_id), json.dumps(kept | {"agents": 99}))
    assert (await (await api.get(f"/v1/runs/{run_id}/topology")).json())["agents"] == 99
    assert (await api.delete(f"/v1/runs/{run_id}")).status == 204
    assert not await redis.exists(keys.topology(run_id))
    assert (await api.get(f"/v1/runs/{run_id}/topology")).status == 404
    assert (await api.get("/v1/runs/no-such-run/topology")).status == 404


async def test_a_topology_is_not_kept_for_a_run_deleted_meanwhile(store, redis):
    """Keeping a topology for a run no longer stored writes nothing (a request that built
    it while the run was deleted leaves no key behind)."""
    await store.cache_topology("gone", "{}")
    assert not await redis.exists(keys.topology("gone"))


async def test_studies_are_listed(api):
    """A posted study appears in `GET /v1/studies` with its conditions and progress."""
    assert (await (await api.get("/v1/studies")).json()) == {"items": [], "next_cursor": None}
    study_id = await post_study(api, study_dict(grid={"injection.rate": [0, 0.5]}))
    await study_finished(api, study_id)
    page = await (await api.get("/v1/studies")).json()
    assert [item["id"] for item in page["items"]] == [study_id]
    assert len(page["items"][0]["conditions"]) == 2
    assert page["items"][0]["progress"]["fraction"] == 1.0
