"""The aiohttp application: state, resources and routes under /v1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.api.guards import server_field_problems
from service.api.middleware import bearer_auth, error_response, errors
from service.api.models import Drift, Health, MessagePage, RunCreated, RunPage, RunView
from service.api.runner import RunTasks
from service.api.settings import ApiSettings
from service.errors import Problem, RunNotFound, SpecError
from service.experiment.experiment import load
from service.provenance.message import Message
from service.provenance.redis_conn import open_redis
from service.provenance.store import ProvenanceStore
from service.run.engine import new_run_id
from service.run.lease import live_holder, request_cancel
from service.status import RunStatus

SETTINGS = web.AppKey("settings", ApiSettings)
STORE = web.AppKey("store", ProvenanceStore)
RUNS = web.AppKey("runs", RunTasks)
IDEMPOTENCY_TTL_S = 24 * 3600
DEFAULT_PAGE = 100
MAX_PAGE = 1000
MESSAGE_FILTERS = ("round", "node", "origin", "generation")


def create_app(settings: ApiSettings) -> web.Application:
    """The API application; its Redis connection and run tasks live as long as it does."""
    middlewares: list[Middleware] = [errors]
    if settings.api_token is not None:
        middlewares.insert(0, bearer_auth(settings.api_token.get_secret_value()))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_run_tasks)
    app.router.add_get("/v1/health", health)
    app.router.add_post("/v1/runs", start_run)
    app.router.add_get("/v1/runs", list_runs)
    app.router.add_get("/v1/runs/{run}", get_run)
    app.router.add_post("/v1/runs/{run}/cancel", cancel_run)
    app.router.add_delete("/v1/runs/{run}", delete_run)
    app.router.add_get("/v1/runs/{run}/messages", list_messages)
    app.router.add_get("/v1/runs/{run}/messages/{message}", get_message)
    app.router.add_get("/v1/runs/{run}/drift", get_drift)
    return app


async def _redis(app: web.Application) -> AsyncIterator[None]:
    connection = await open_redis(app[SETTINGS], announce=lambda text: None)
    app[STORE] = ProvenanceStore(connection.client)
    yield
    await connection.aclose()


async def _run_tasks(app: web.Application) -> AsyncIterator[None]:
    app[RUNS] = RunTasks(app[STORE], app[SETTINGS])
    yield
    await app[RUNS].aclose()


def _json(model: Any, status: int = 200, **kwargs: Any) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status, **kwargs)


async def health(request: web.Request) -> web.Response:
    redis: Redis = request.app[STORE].redis
    try:
        ok = bool(await redis.ping())
    except RedisError:
        ok = False
    return _json(Health(status="ok" if ok else "unavailable", redis=ok), 200 if ok else 503)


async def start_run(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    store = request.app[STORE]
    raw = await request.json()
    if not isinstance(raw, dict):
        raise SpecError([])
    if not settings.allow_server_paths and (problems := server_field_problems(raw)):
        raise SpecError(problems)
    experiment = load(raw, settings)
    run_id = new_run_id(experiment.spec.name)
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        claimed = await store.redis.set(
            f"driftlab:api:idempotency:{key}", run_id, nx=True, ex=IDEMPOTENCY_TTL_S
        )
        if not claimed:
            earlier = await store.redis.get(f"driftlab:api:idempotency:{key}")
            run_id = earlier.decode() if isinstance(earlier, bytes) else str(earlier)
            return _created(run_id, await _status(request, run_id))
    request.app[RUNS].start(run_id, experiment)
    return _created(run_id, RunStatus.QUEUED)


def _created(run_id: str, status: RunStatus) -> web.Response:
    location = f"/v1/runs/{run_id}"
    body = RunCreated(id=run_id, status=status, location=location)
    return _json(body, 202, headers={"Location": location})


async def _status(request: web.Request, run_id: str) -> RunStatus:
    return (await _view(request, run_id)).status


async def _view(request: web.Request, run_id: str) -> RunView:
    """The stored record, or `queued` for a run waiting in this server."""
    try:
        record = await request.app[STORE].get_run(run_id)
    except RunNotFound:
        if run_id in request.app[RUNS].tasks:
            return RunView(id=run_id, status=RunStatus.QUEUED)
        raise
    return _record_view(record)


def _record_view(record: dict[str, Any]) -> RunView:
    """A stored record as a view; one caught between its claim and its first write is
    `queued`."""
    record.pop("spec", None)
    status = RunStatus(record.get("status", RunStatus.QUEUED))
    return RunView(id=record["id"], status=status, record=record)


def _page_size(request: web.Request) -> int:
    try:
        limit = int(request.query.get("limit", DEFAULT_PAGE))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise SpecError([Problem("limit", f"must be an integer from 1 to {MAX_PAGE}")])
    return limit


def _cursor(request: web.Request) -> int:
    text = request.query.get("cursor", "0")
    if not text.isdigit():
        raise SpecError([Problem("cursor", "not a cursor this server returned")])
    return int(text)


async def list_runs(request: web.Request) -> web.Response:
    """Newest first (queued runs of this server before stored ones), filtered by `status`."""
    wanted = request.query.get("status")
    if wanted is not None and wanted not in RunStatus.__members__.values():
        raise SpecError([Problem("status", f"must be one of {[s.value for s in RunStatus]}")])
    store = request.app[STORE]
    queued = [RunView(id=i, status=RunStatus.QUEUED) for i in request.app[RUNS].queued]
    stored = []
    for record in reversed(await store.list_runs()):
        stored.append(_record_view(record))
    seen = {view.id for view in stored}
    views = [v for v in queued if v.id not in seen] + stored
    views = [v for v in views if wanted is None or v.status == wanted]
    start, limit = _cursor(request), _page_size(request)
    items = views[start : start + limit]
    more = start + limit < len(views)
    return _json(RunPage(items=items, next_cursor=str(start + limit) if more else None))


async def get_run(request: web.Request) -> web.Response:
    return _json(await _view(request, request.match_info["run"]))


async def cancel_run(request: web.Request) -> web.Response:
    """Cancel a run this server runs (and wait for it to stop), or ask its process to; 409
    when it is not live."""
    run_id = request.match_info["run"]
    runs = request.app[RUNS]
    view = await _view(request, run_id)
    if runs.cancel(run_id):
        await runs.wait(run_id)
    elif await live_holder(request.app[STORE].redis, run_id):
        await request_cancel(request.app[STORE].redis, run_id, request.app[SETTINGS].lease_s)
    else:
        return error_response(409, f"run {run_id!r} is {view.status.value}, not live")
    return _json(await _view(request, run_id))


async def delete_run(request: web.Request) -> web.Response:
    """Remove the run's data; 409 while it is live unless `?force=true` (cancels it first)."""
    run_id = request.match_info["run"]
    store = request.app[STORE]
    runs = request.app[RUNS]
    await _view(request, run_id)
    live = run_id in runs.tasks or await live_holder(store.redis, run_id) is not None
    if live:
        if request.query.get("force") != "true":
            return error_response(409, f"run {run_id!r} is live; cancel it or use ?force=true")
        if runs.cancel(run_id):
            await runs.wait(run_id)
        else:
            await request_cancel(store.redis, run_id, request.app[SETTINGS].lease_s)
    await store.delete_run(run_id)
    return web.Response(status=204)


async def list_messages(request: web.Request) -> web.Response:
    """Messages in id order, filtered by round, node, origin and generation."""
    run_id = request.match_info["run"]
    store = request.app[STORE]
    await _view(request, run_id)
    filters = {k: request.query[k] for k in MESSAGE_FILTERS if k in request.query}
    for name in ("round", "generation"):
        if name in filters and not filters[name].isdigit():
            raise SpecError([Problem(name, "must be a non-negative integer")])
    start, limit = _cursor(request), _page_size(request)
    ids = sorted(await store.message_ids(run_id))
    items: list[Message] = []
    position = start
    while position < len(ids) and len(items) < limit:
        batch = ids[position : position + limit]
        for message in await store.get_messages(run_id, batch):
            position += 1
            if message is not None and _matches(message, filters):
                items.append(message)
                if len(items) == limit:
                    break
    more = position < len(ids)
    return _json(MessagePage(items=items, next_cursor=str(position) if more else None))


def _matches(message: Message, filters: dict[str, str]) -> bool:
    return all(str(getattr(message, name)) == value for name, value in filters.items())


async def get_message(request: web.Request) -> web.Response:
    run_id = request.match_info["run"]
    await _view(request, run_id)
    return _json(await request.app[STORE].get_message(run_id, request.match_info["message"]))


async def get_drift(request: web.Request) -> web.Response:
    """The run's drift tables (filled once the run is exported)."""
    run_id = request.match_info["run"]
    view = await _view(request, run_id)
    tables = {k: v for k, v in view.record.items() if k in Drift.model_fields and k != "run"}
    return _json(Drift(run=run_id, **tables))
