"""A run's drift tables."""

from __future__ import annotations

from aiohttp import web

from service.api.models import Drift, ErrorBody
from service.api.routing import Routes
from service.api.state import json_response, run_view

routes = Routes("drift")


@routes.get("/v1/runs/{run}/drift", responses={200: Drift, 404: ErrorBody})
async def get_drift(request: web.Request) -> web.Response:
    """Drift per generation and per round (filled once the run is exported)."""
    run_id = request.match_info["run"]
    view = await run_view(request, run_id)
    tables = {k: v for k, v in view.record.items() if k in Drift.model_fields and k != "run"}
    return json_response(Drift(run=run_id, **tables))
