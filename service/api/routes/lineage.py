"""A message's lineage: its ancestors up to the human roots and its descendants, as JSON
nodes and edges or as GraphML."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import networkx as nx
from aiohttp import web
from pydantic import BaseModel, Field

from service.api.models import ErrorBody, Lineage, LineageEdge
from service.api.routing import Routes, parse_query
from service.api.state import STORE, json_response, run_view
from service.measure.export import flatten
from service.provenance.lineage import lineage, lineage_edges
from service.provenance.message import Message

routes = Routes("lineage")
GRAPHML = "application/graphml+xml"


class LineageQuery(BaseModel):
    format: Literal["json", "graphml"] = Field(
        "json", description="`graphml`: the DAG as GraphML, message tags as node attributes"
    )


@routes.get(
    "/v1/runs/{run}/messages/{message}/lineage",
    query=LineageQuery,
    responses={200: (Lineage, GRAPHML), 404: ErrorBody, 422: ErrorBody},
)
async def get_lineage(request: web.Request) -> web.Response:
    """A message's ancestors up to the human roots and its descendants, as nodes and edges
    (`source` is a parent of `target`); `?format=graphml` for GraphML."""
    query = parse_query(request, LineageQuery)
    run_id, message_id = request.match_info["run"], request.match_info["message"]
    await run_view(request, run_id)
    messages = await lineage(request.app[STORE], run_id, message_id)
    edges = lineage_edges(messages)
    if query.format == "graphml":
        text = await asyncio.to_thread(_graphml, messages, edges)
        return web.Response(text=text, content_type=GRAPHML)
    body = Lineage(
        message=message_id,
        nodes=list(messages.values()),
        edges=[LineageEdge(source=source, target=target) for source, target in edges],
    )
    return json_response(body)


def _graphml(messages: dict[str, Message], edges: list[tuple[str, str]]) -> str:
    """The DAG as GraphML; each node carries its message's tags, flattened as in the CSV
    export (nested fields dotted, lists as JSON), unset ones left out."""
    graph = nx.DiGraph()
    for message_id, message in messages.items():
        graph.add_node(message_id, **_scalars(message))
    graph.add_edges_from(edges)
    return "\n".join(nx.generate_graphml(graph))


def _scalars(message: Message) -> dict[str, Any]:
    flat = flatten(message.model_dump(mode="json"))
    return {name: value for name, value in flat.items() if value is not None}
