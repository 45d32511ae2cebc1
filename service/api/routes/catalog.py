"""What a spec may use and what it builds: the bundled personas, a topology's preview (of a
spec, or of a stored run's spec)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agents.personas import BUILTIN_PERSONAS
from service.api.guards import server_field_problems
from service.api.models import (
    ErrorBody,
    LineageEdge,
    PersonaPage,
    TopologyNode,
    TopologyPreview,
)
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
    raw: Any = await request.json()
    if not isinstance(raw, dict):
        raise SpecError([Problem("", "the body must be a spec (a JSON object)")])
    if not settings.allow_server_paths and (problems := server_field_problems(raw)):
        raise SpecError(problems)
    return json_response(topology_preview(load(raw, settings)))


@routes.get(
    "/v1/runs/{run}/topology",
    responses={200: TopologyPreview, 404: ErrorBody, 422: ErrorBody},
)
async def run_topology(request: web.Request) -> web.Response:
    """The nodes and edges a stored run's spec builds (422 when the spec no longer loads
    here, e.g. a topology file this server cannot read)."""
    record = await request.app[STORE].get_run(request.match_info["run"])
    return json_response(topology_preview(load(record["spec"], request.app[SETTINGS])))


def topology_preview(experiment: Experiment) -> TopologyPreview:
    nodes = [TopologyNode(id=node, role=HUMAN_SOURCE) for node in experiment.sources] + [
        TopologyNode(id=node, role=AGENT, persona=experiment.persona_of[node].name)
        for node in experiment.agents
    ]
    edges = [LineageEdge(source=str(u), target=str(v)) for u, v in experiment.graph.edges]
    return TopologyPreview(
        nodes=nodes,
        edges=edges,
        agents=len(experiment.agents),
        human_sources=len(experiment.sources),
    )


@routes.get("/v1/personas", responses={200: PersonaPage})
async def list_personas(request: web.Request) -> web.Response:
    """The bundled personas a spec may name: description, system prompt, sampling, style."""
    return json_response(PersonaPage(items=list(BUILTIN_PERSONAS.values())))
