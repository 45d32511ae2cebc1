"""A run's messages: filtered pages and single messages."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from service.api.models import ErrorBody, MessagePage
from service.api.routing import Routes, parse_query
from service.api.state import STORE, PageQuery, json_response, next_cursor, run_view
from service.provenance.message import Message

routes = Routes("messages")


class MessageQuery(PageQuery):
    round: int | None = Field(None, ge=0)
    node: str | None = None
    origin: Literal["human", "model"] | None = None
    generation: int | None = Field(None, ge=0)


@routes.get(
    "/v1/runs/{run}/messages",
    query=MessageQuery,
    responses={200: MessagePage, 404: ErrorBody, 422: ErrorBody},
)
async def list_messages(request: web.Request) -> web.Response:
    """A run's messages in id order, filtered by round, node, origin and generation."""
    query = parse_query(request, MessageQuery)
    run_id = request.match_info["run"]
    store = request.app[STORE]
    await run_view(request, run_id)
    filters = query.model_dump(include={"round", "node", "origin", "generation"})
    filters = {name: value for name, value in filters.items() if value is not None}
    ids = sorted(await store.message_ids(run_id))
    items: list[Message] = []
    position = query.cursor
    while position < len(ids) and len(items) < query.limit:
        batch = ids[position : position + query.limit]
        for message in await store.get_messages(run_id, batch):
            position += 1
            if message is not None and _matches(message, filters):
                items.append(message)
                if len(items) == query.limit:
                    break
    return json_response(MessagePage(items=items, next_cursor=next_cursor(position, len(ids))))


def _matches(message: Message, filters: dict[str, object]) -> bool:
    return all(getattr(message, name) == value for name, value in filters.items())


@routes.get("/v1/runs/{run}/messages/{message}", responses={200: Message, 404: ErrorBody})
async def get_message(request: web.Request) -> web.Response:
    """One message with its provenance tags."""
    run_id = request.match_info["run"]
    await run_view(request, run_id)
    message = await request.app[STORE].get_message(run_id, request.match_info["message"])
    return json_response(message)
