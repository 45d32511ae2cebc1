"""The aiohttp application: settings, Redis, run tasks and the route groups under /v1."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware

from service.api.middleware import bearer_auth, errors
from service.api.routes import ROUTE_GROUPS
from service.api.runner import RunTasks
from service.api.settings import ApiSettings
from service.api.state import RUNS, SETTINGS, STORE, STUDIES
from service.api.study_tasks import StudyTasks
from service.provenance.redis_conn import open_redis
from service.provenance.store import ProvenanceStore


def create_app(settings: ApiSettings) -> web.Application:
    """The API application; its Redis connection and run tasks live as long as it does."""
    middlewares: list[Middleware] = [errors]
    if settings.api_token is not None:
        middlewares.insert(0, bearer_auth(settings.api_token.get_secret_value()))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_redis)
    app.cleanup_ctx.append(_run_tasks)
    app.cleanup_ctx.append(_study_tasks)
    for group in ROUTE_GROUPS:
        group.register(app)
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


async def _study_tasks(app: web.Application) -> AsyncIterator[None]:
    app[STUDIES] = StudyTasks(app[STORE], app[SETTINGS], app[RUNS])
    yield
    await app[STUDIES].aclose()
