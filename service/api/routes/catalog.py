"""What a spec may use and what it builds: the bundled personas, a topology's preview (of a
spec, or of a stored run's spec)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from agents.personas import BUILTIN_PERSONAS
from service.api.body import read_json
from service.api.guards import server_field_problems
from service.api.models import ErrorBody, PersonaPage, TopologyPreview
from service.api.routing import Routes
from service.api.state import SETTINGS, STORE, json_response
from service.errors import Problem, SpecError
from service.experiment.experiment import Experiment, load
from service.experiment.spec import ExperimentSpec
from topologies import AGENT, HUMAN_SOURCE

routes = Routes("catalog")


@routes.post(
    "/v1/topologies/preview",
    body=ExperimentSpec,
    responses={200: TopologyPreview, 413: ErrorBody, 422: ErrorBody},
)
async def preview_topology(request: web.Request) -> web.Response:
    """The nodes (with roles and personas) and edges a spec builds, without running it."""
    settings = request.app[SETTINGS]
    raw: Any = await read_json(request, settings)
    if not isinstance(raw, dict):
        raise SpecError([Problem("", "the body must be a spec (a JSON object)")])
    if not settings.allow_server_paths and (problems := server_field_problems(raw)):
        raise SpecError(problems)
    text = await asyncio.to_thread(lambda: topology_json(load(raw, settings)))
    return web.json_response(text=text)


@routes.get(
    "/v1/runs/{run}/topology",
    responses={200: TopologyPreview, 404: ErrorBody, 422: ErrorBody},
)
async def run_topology(request: web.Request) -> web.Response:
    """The nodes and edges a stored run's spec builds (422 when the spec no longer loads
    here, e.g. a topology file this server cannot read); built at the first request, then
    kept with the run."""
    store = request.app[STORE]
    run_id = request.match_info["run"]
    text = await store.topology(run_id)
    if text is None:
        spec = (await store.get_run(run_id))["spec"]
        settings = request.app[SETTINGS]
        text = await asyncio.to_thread(lambda: topology_json(load(spec, settings)))
        await store.cache_topology(run_id, text)
    return web.json_response(text=text)


def topology_json(experiment: Experiment) -> str:
    """The experiment's graph as TopologyPreview's JSON, written without a pydantic model
    per node and edge (a 5,000-agent small world has 30,000 edges)."""
    persona = experiment.persona_of
    preview = {
        "nodes": [
            {"id": node, "role": HUMAN_SOURCE, "persona": None} for node in experiment.sources
        ]
        + [
            {"id": node, "role": AGENT, "persona": persona[node].name} for node in experiment.agents
        ],
        "edges": [{"source": str(u), "target": str(v)} for u, v in experiment.graph.edges],
        "agents": len(experiment.agents),
        "human_sources": len(experiment.sources),
    }
    return json.dumps(preview, separators=(",", ":"))


@routes.get("/v1/personas", responses={200: PersonaPage})
async def list_personas(request: web.Request) -> web.Response:
    """The bundled personas a spec may name: description, system prompt, sampling, style."""
    return json_response(PersonaPage(items=list(BUILTIN_PERSONAS.values())))
