"""What a spec may use and what it builds: the bundled personas, a topology's preview (of a
spec, or of a stored run's spec)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from agents.personas import BUILTIN_PERSONAS
from service.api.body import read_json
from service.api.guards import server_field_problems
from service.api.models import ErrorBody, PersonaPage, TopologyPreview
from service.api.routing import Routes
from service.api.state import SETTINGS, STORE, json_response
from service.errors import Problem, SpecError
from service.experiment.experiment import load
from service.experiment.preview import topology_json
from service.experiment.spec import ExperimentSpec

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
    """The nodes and edges of a stored run's graph: kept with the run from its start; for a
    run stored before runs kept it, built from its spec at the first request (422 when the
    spec no longer loads here, e.g. a topology file this server cannot read), then kept."""
    store = request.app[STORE]
    run_id = request.match_info["run"]
    text = await store.topology(run_id)
    if text is None:
        spec = (await store.get_run(run_id))["spec"]
        settings = request.app[SETTINGS]
        text = await asyncio.to_thread(lambda: topology_json(load(spec, settings)))
        await store.cache_topology(run_id, text)
    return web.json_response(text=text)


@routes.get("/v1/personas", responses={200: PersonaPage})
async def list_personas(request: web.Request) -> web.Response:
    """The bundled personas a spec may name: description, system prompt, sampling, style."""
    return json_response(PersonaPage(items=list(BUILTIN_PERSONAS.values())))
