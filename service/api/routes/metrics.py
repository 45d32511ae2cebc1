"""Metrics: the server's instruments in Prometheus' text format."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.models import ErrorBody
from service.api.routing import Routes
from service.api.state import METRICS, RUNS, STORE
from service.status import RunStatus

routes = Routes("metrics")


@routes.get("/metrics", responses={200: CONTENT_TYPE_LATEST, 401: ErrorBody})
async def metrics(request: web.Request) -> web.Response:
    """Runs by status, messages, LLM calls, faults and latencies, for Prometheus."""
    instruments = request.app[METRICS]
    stored = await request.app[STORE].run_statuses()
    queued = [RunStatus.QUEUED] * len(request.app[RUNS].queued)
    instruments.count_runs([*stored, *queued])
    return web.Response(
        body=instruments.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
