"""Runs: health, start (idempotent), list, view, cancel, resume, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.api.guards import server_field_problems, usage_problems
from service.api.middleware import error_response
from service.api.models import ErrorBody, Health, RunCreated, RunPage, RunView
from service.api.routing import Routes, parse_query
from service.api.run_fields import FIELDS_HELP, listed_view, requested
from service.api.runner import TooManyRuns
from service.api.state import (
    RUNS,
    SETTINGS,
    STORE,
    PageQuery,
    caller,
    json_response,
    next_cursor,
    run_view,
)
from service.errors import SpecError
from service.experiment.experiment import load
from service.experiment.spec import ExperimentSpec
from service.run.engine import new_run_id
from service.run.lease import live_holder, request_cancel
from service.status import RunStatus

routes = Routes("runs")
IDEMPOTENCY_TTL_S = 24 * 3600


class RunQuery(PageQuery):
    status: RunStatus | None = None
    fields: str | None = Field(None, description=FIELDS_HELP)


class DeleteQuery(BaseModel):
    force: bool = False


@routes.get("/v1/health", responses={200: Health, 503: Health})
async def health(request: web.Request) -> web.Response:
    """Whether the service and its Redis answer (open without a token)."""
    redis: Redis = request.app[STORE].redis
    try:
        ok = bool(await redis.ping())
    except RedisError:
        ok = False
    return json_response(Health(status="ok" if ok else "unavailable", redis=ok), 200 if ok else 503)


@routes.post(
    "/v1/runs",
    body=ExperimentSpec,
    responses={202: RunCreated, 422: ErrorBody, 413: ErrorBody, 429: ErrorBody},
)
async def start_run(request: web.Request) -> web.Response:
    """Start a run of an experiment spec; an `Idempotency-Key` makes a retry return it again."""
    settings = request.app[SETTINGS]
    store = request.app[STORE]
    raw: Any = await request.json()
    if not isinstance(raw, dict):
        raise SpecError([])
    if not settings.allow_server_paths and (problems := server_field_problems(raw)):
        raise SpecError(problems)
    experiment = load(raw, settings)
    if problems := usage_problems(experiment, settings):
        raise SpecError(problems)
    run_id = new_run_id(experiment.spec.name)
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        claimed = await store.redis.set(
            f"driftlab:api:idempotency:{key}", run_id, nx=True, ex=IDEMPOTENCY_TTL_S
        )
        if not claimed:
            earlier = await store.redis.get(f"driftlab:api:idempotency:{key}")
            run_id = earlier.decode() if isinstance(earlier, bytes) else str(earlier)
            return _created(run_id, (await run_view(request, run_id)).status)
    try:
        request.app[RUNS].start(run_id, experiment, caller(request))
    except TooManyRuns:
        if key is not None:
            await store.redis.delete(f"driftlab:api:idempotency:{key}")
        raise
    return _created(run_id, RunStatus.QUEUED)


def _created(run_id: str, status: RunStatus) -> web.Response:
    location = f"/v1/runs/{run_id}"
    body = RunCreated(id=run_id, status=status, location=location)
    return json_response(body, 202, headers={"Location": location})


@routes.get("/v1/runs", query=RunQuery, responses={200: RunPage, 422: ErrorBody})
async def list_runs(request: web.Request) -> web.Response:
    """Runs, newest first (this server's queued runs before stored ones), by `status`;
    `fields=summary` keeps each item small."""
    query = parse_query(request, RunQuery)
    store = request.app[STORE]
    queued = [RunView(id=i, status=RunStatus.QUEUED) for i in request.app[RUNS].queued]
    fields = requested(query.fields)
    stored = [listed_view(record, fields) for record in reversed(await store.list_runs())]
    for view in stored:
        view.status = request.app[RUNS].status(view.id, view.status)
    seen = {view.id for view in stored}
    views = [v for v in queued if v.id not in seen] + stored
    views = [v for v in views if query.status is None or v.status == query.status]
    end = query.cursor + query.limit
    items = views[query.cursor : end]
    return json_response(RunPage(items=items, next_cursor=next_cursor(end, len(views))))


@routes.get("/v1/runs/{run}", responses={200: RunView, 404: ErrorBody})
async def get_run(request: web.Request) -> web.Response:
    """One run: status, progress, counts, timings."""
    return json_response(await run_view(request, request.match_info["run"]))


@routes.post("/v1/runs/{run}/cancel", responses={200: RunView, 404: ErrorBody, 409: ErrorBody})
async def cancel_run(request: web.Request) -> web.Response:
    """Cancel a live run (and wait for it to stop when this server runs it); 409 otherwise."""
    run_id = request.match_info["run"]
    runs = request.app[RUNS]
    view = await run_view(request, run_id)
    live = not view.status.finished  # a finished run's task may still be exporting
    if live and runs.cancel(run_id):
        await runs.wait(run_id)
    elif live and await live_holder(request.app[STORE].redis, run_id):
        await request_cancel(request.app[STORE].redis, run_id, request.app[SETTINGS].lease_s)
    else:
        return error_response(409, f"run {run_id!r} is {view.status.value}, not live")
    return json_response(await run_view(request, run_id))


@routes.post(
    "/v1/runs/{run}/resume",
    responses={202: RunCreated, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody},
)
async def resume(request: web.Request) -> web.Response:
    """Continue an interrupted or cancelled run from its last completed steps; 409 when it is
    live or ended otherwise."""
    run_id = request.match_info["run"]
    runs = request.app[RUNS]
    view = await run_view(request, run_id)
    holder = await live_holder(request.app[STORE].redis, run_id)
    if run_id in runs.tasks or holder is not None:
        return error_response(409, f"run {run_id!r} is live")
    if not view.status.resumable:
        return error_response(
            409, f"run {run_id!r} is {view.status.value}; only interrupted or cancelled runs resume"
        )
    runs.resume(run_id, caller(request))
    return _created(run_id, RunStatus.QUEUED)


@routes.delete(
    "/v1/runs/{run}", query=DeleteQuery, responses={204: "", 404: ErrorBody, 409: ErrorBody}
)
async def delete_run(request: web.Request) -> web.Response:
    """Remove a run's data; 409 while it is live unless `?force=true` (cancels it first)."""
    query = parse_query(request, DeleteQuery)
    run_id = request.match_info["run"]
    store = request.app[STORE]
    runs = request.app[RUNS]
    await run_view(request, run_id)
    live = run_id in runs.tasks or await live_holder(store.redis, run_id) is not None
    if live:
        if not query.force:
            return error_response(409, f"run {run_id!r} is live; cancel it or use ?force=true")
        if runs.cancel(run_id):
            await runs.wait(run_id)
        else:
            await request_cancel(store.redis, run_id, request.app[SETTINGS].lease_s)
    await store.delete_run(run_id)
    return web.Response(status=204)
