"""Runs: health, start (idempotent), list, view, cancel, resume, delete."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web
from pydantic import Field

from service.api.body import BodyError, read_json
from service.api.guards import Checked, admit
from service.api.middleware import error_response
from service.api.models import ErrorBody, Health, RunCreated, RunPage, RunView
from service.api.redis_watch import REDIS_WATCH
from service.api.routing import Routes, parse_query
from service.api.run_fields import FIELDS_HELP, SUMMARY, listed_view, requested
from service.api.runner import TooManyRuns
from service.api.state import (
    RUNS,
    SETTINGS,
    STORE,
    DeleteQuery,
    PageQuery,
    caller,
    control,
    json_response,
    next_cursor,
    run_view,
)
from service.errors import Problem, SpecError
from service.experiment.experiment import Experiment, load
from service.experiment.spec import ExperimentSpec
from service.lifecycle import new_run
from service.status import RunStatus

routes = Routes("runs")
IDEMPOTENCY_TTL_S = 24 * 3600


class RunQuery(PageQuery):
    status: RunStatus | None = None
    fields: str = Field(SUMMARY, description=FIELDS_HELP)


@routes.get("/v1/health", responses={200: Health, 503: Health})
async def health(request: web.Request) -> web.Response:
    """Whether the service and its Redis answer (open without a token; Redis is pinged
    every half second)."""
    ok = request.app[REDIS_WATCH].up
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
    raw: Any = await read_json(request, settings)
    if not isinstance(raw, dict):
        raise SpecError([Problem("", "the body must be a spec (a JSON object)")])
    experiment = await admit(settings, raw, lambda: _one(load(raw, settings)), redis=store.redis)
    run = new_run(experiment, runs_dir=settings.runs_dir)
    run_id = run.run_id
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        digest = body_digest(raw)
        earlier = await store.claim_idempotency_key(key, run_id, digest, IDEMPOTENCY_TTL_S)
        if earlier is not None:
            earlier_id, earlier_digest = earlier
            if earlier_digest != digest:
                raise BodyError(
                    "Idempotency-Key",
                    f"the key {key!r} was used for another body (run {earlier_id!r}); "
                    "use a new key for a new request",
                )
            return _created(earlier_id, (await run_view(request, earlier_id)).status)
    try:
        request.app[RUNS].start(run, caller(request))
    except TooManyRuns:
        if key is not None:
            await store.release_idempotency_key(key)
        raise
    return _created(run_id, RunStatus.QUEUED)


def _one(experiment: Experiment) -> tuple[Experiment, list[Checked]]:
    return experiment, [("", experiment)]


def body_digest(raw: Any) -> str:
    """A digest of a JSON body, the same whatever its keys' order or spacing."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _created(run_id: str, status: RunStatus) -> web.Response:
    location = f"/v1/runs/{run_id}"
    body = RunCreated(id=run_id, status=status, location=location)
    return json_response(body, 202, headers={"Location": location})


@routes.get("/v1/runs", query=RunQuery, responses={200: RunPage, 422: ErrorBody})
async def list_runs(request: web.Request) -> web.Response:
    """Runs, newest first (this server's queued runs before stored ones), by `status`; each
    item's `record` is its summary unless `fields` asks for more (`full`, `spec`)."""
    query = parse_query(request, RunQuery)
    store = request.app[STORE]
    queued = [RunView(id=i, status=RunStatus.QUEUED) for i in request.app[RUNS].queued]
    fields = requested(query.fields)
    counted = "rounds_done" in fields
    stored = [
        listed_view(record, fields, await store.rounds_done(record) if counted else None)
        for record in reversed(await store.list_runs())
    ]
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
    view = await run_view(request, run_id)
    if view.status.finished or not await control(request).cancel(run_id):
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
    if await control(request).is_live(run_id):
        return error_response(409, f"run {run_id!r} is live")
    if not view.status.resumable:
        return error_response(
            409, f"run {run_id!r} is {view.status.value}; only interrupted or cancelled runs resume"
        )
    record = await request.app[STORE].get_run(run_id)
    stored: dict[str, Any] = record["spec"]
    settings = request.app[SETTINGS]
    await admit(
        settings,
        stored,
        lambda: _one(load(stored, settings)),
        redis=request.app[STORE].redis,
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
    runs = control(request)
    await run_view(request, run_id)
    if not query.force and await runs.is_live(run_id):
        return error_response(409, f"run {run_id!r} is live; cancel it or use ?force=true")
    await runs.delete(run_id, force=query.force)
    return web.Response(status=204)
