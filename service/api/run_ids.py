"""Run ids in HTTP paths: a unique prefix names its run, as in the CLI (`latest` is the
CLI's alone: over HTTP it is a prefix like any other)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from service.api.state import STORE
from service.provenance.run_lookup import resolve_run_id


def resolving_run_ids(handler: Handler) -> Handler:
    """`handler` with the path's `{run}` replaced by the stored run id it uniquely starts
    (an ambiguous prefix is 404 naming the candidates)."""

    async def resolved(request: web.Request) -> web.StreamResponse:
        typed = request.match_info["run"]
        store = request.app[STORE]
        request.match_info["run"] = await resolve_run_id(store.redis, typed, latest=False)
        return await handler(request)

    resolved.__doc__ = handler.__doc__
    resolved.__name__ = handler.__name__
    return resolved
