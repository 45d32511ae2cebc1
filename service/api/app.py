"""The aiohttp application: settings, Redis, run tasks and the route groups under /v1."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware

from service.api.metrics import ApiMetrics, request_timer
from service.api.middleware import bearer_auth, browser_guard, errors, json_only, redis_gate
from service.api.redis_watch import REDIS_WATCH, RedisWatch
from service.api.routes import ROUTE_GROUPS
from service.api.routes.docs import DOCUMENT, document_json
from service.api.routes.events import track_streams
from service.api.runner import RunTasks
from service.api.settings import ApiSettings
from service.api.state import METRICS, RUNS, SETTINGS, STORE, STUDIES
from service.api.study_tasks import StudyTasks
from service.lifecycle import RunHooks
from service.provenance.redis_conn import open_redis
from service.provenance.store import ProvenanceStore


def create_app(settings: ApiSettings) -> web.Application:
    """The API application; its Redis connection, run tasks, metrics registry and event
    streams live as long as it does."""
    metrics = ApiMetrics()
    guard = (
        browser_guard(settings)
        if settings.api_token is None
        else bearer_auth(settings.api_token.get_secret_value())
    )
    middlewares: list[Middleware] = [request_timer(metrics), errors, guard, json_only, redis_gate]
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[DOCUMENT] = document_json(ROUTE_GROUPS)
    app[METRICS] = metrics
    track_streams(app)
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_run_tasks)
    app.cleanup_ctx.append(_study_tasks)
    for group in ROUTE_GROUPS:
        group.register(app)
    return app


async def _redis(app: web.Application) -> AsyncIterator[None]:
    connection = await open_redis(app[SETTINGS], announce=lambda text: None)
    app[STORE] = ProvenanceStore(connection.client, events_maxlen=app[SETTINGS].events_maxlen)
    app[REDIS_WATCH] = RedisWatch(connection.client)
    app[REDIS_WATCH].start()
    yield
    await app[REDIS_WATCH].aclose()
    await connection.aclose()


async def _run_tasks(app: web.Application) -> AsyncIterator[None]:
    hooks = RunHooks(round=app[METRICS].observe_round)
    app[RUNS] = RunTasks(app[STORE], app[SETTINGS], hooks)
    yield
    await app[RUNS].aclose()


async def _study_tasks(app: web.Application) -> AsyncIterator[None]:
    app[STUDIES] = StudyTasks(app[STORE], app[SETTINGS], app[RUNS])
    yield
    await app[STUDIES].aclose()
