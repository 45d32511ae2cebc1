"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from service.provenance.message import Message
from service.status import RunStatus

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list route; pass `next_cursor` as `cursor` for the next (None: last)."""

    items: list[Item]
    next_cursor: str | None = None


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str
    problems: list[FieldError] = []


class Health(BaseModel):
    status: str
    redis: bool


class RunCreated(BaseModel):
    id: str
    status: RunStatus
    location: str


class RunView(BaseModel):
    """A run record as stored (status, counts, timings, drift...), with its id and status."""

    id: str
    status: RunStatus
    record: dict[str, Any] = {}


class MessagePage(Page[Message]):
    pass


class RunPage(Page[RunView]):
    pass


class Drift(BaseModel):
    run: str
    drift: list[dict[str, Any]] = []
    drift_by_round: list[dict[str, Any]] = []
    drift_by_min_generation: list[dict[str, Any]] = []
    drift_by_ancestry: list[dict[str, Any]] = []


class LineageEdge(BaseModel):
    """`source` is a parent of `target`."""

    source: str
    target: str


class Lineage(BaseModel):
    """A message's ancestors up to the human roots and its descendants, as a DAG."""

    message: str
    nodes: list[Message]
    edges: list[LineageEdge]


class RunEvent(BaseModel):
    """One progress event of a run; `id` is its Redis stream id (the SSE event id)."""

    id: str
    type: str
    data: dict[str, Any]
