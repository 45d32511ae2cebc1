"""Routes declared once: registered on the aiohttp router and described in the OpenAPI
document from the same pydantic models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar, Unpack

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from service.api.run_ids import resolving_run_ids

Query = TypeVar("Query", bound=BaseModel)
Answer = type[BaseModel] | str
"""A JSON body of a model, or a media type (`""`: no body)."""
Answers = Answer | tuple[Answer, ...]
"""One answer, or the alternatives a request chooses between (by `Accept` or a query)."""


@dataclass(frozen=True)
class Operation:
    """One method on one path, with what it takes and answers.

    `responses` maps a status to a pydantic model (JSON) or to a media type (other bodies),
    or to a tuple of these when the request picks one (`?format=`, `Accept`)."""

    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, Answers] = field(default_factory=dict)
    tag: str = ""


class RouteOptions(TypedDict, total=False):
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, Answers] | None


class Routes:
    """A group of operations, registered together (`register`) and documented together."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        **options: Unpack[RouteOptions],
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            summary = (handler.__doc__ or handler.__name__).strip().splitlines()[0]
            operation = Operation(
                method,
                path,
                handler,
                summary,
                options.get("body"),
                options.get("query"),
                options.get("responses") or {},
                self.tag,
            )
            self.operations.append(operation)
            return handler

        return declare

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)

    def register(self, app: web.Application) -> None:
        for operation in self.operations:
            handler = operation.handler
            if "{run}" in operation.path:
                handler = resolving_run_ids(handler)
            app.router.add_route(operation.method, operation.path, handler)


def parse_query(request: web.Request, model: type[Query]) -> Query:
    """The query string as `model` (a ValidationError, answered 422, names each bad field)."""
    return model.model_validate(dict(request.query))
