"""Errors as JSON bodies, bearer-token auth, and what keeps web pages and a lost Redis from
driving or stalling the server (docs/api.md, "Security")."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.api.body import BodyError, is_json
from service.api.models import ErrorBody, FieldError
from service.api.problems import problem_status
from service.api.redis_watch import REDIS_WATCH, RedisDown, RedisWatch
from service.api.redis_watch import RETRY_AFTER_S as REDIS_RETRY_AFTER_S
from service.api.runner import RETRY_AFTER_S, TooManyRuns
from service.api.settings import ApiSettings
from service.errors import Category, DriftlabError, SpecError

OPEN_PATHS: tuple[str, ...] = ("/v1/health", "/v1/openapi.json", "/docs", "/docs/{asset}")
"""Route paths answered without the token: health, the OpenAPI document, the docs page."""
OPEN_PATHS += ("/", "/ui/{asset}", "/ui/vendor/{asset}")  # the dashboard's page and files
WITHOUT_REDIS = OPEN_PATHS
"""Route paths that answer without Redis (health says whether it is up)."""
STREAMING = frozenset({"/v1/runs/{run}/events"})
"""Routes whose answer is a stream: not cut short when Redis goes (the stream ends)."""
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_SITE_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
LOOPBACK_NAMES = frozenset({"localhost"})


def route_path(request: web.Request) -> str:
    """The path template of the route `request` matched (its path when none did)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def error_response(
    status: int, error: str, problems: list[FieldError] | None = None
) -> web.Response:
    body = ErrorBody(error=error, problems=problems or [])
    return web.json_response(body.model_dump(), status=status)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as a JSON error body (see `client_error`); Redis lost: 503."""
    try:
        return await handler(request)
    except (RedisConnectionError, RedisTimeoutError, RedisDown, ConnectionError):
        return redis_down()
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        response = error_response(exc.status, exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        answer = client_error(exc)
        if answer is None:
            raise
        return answer


def client_error(exc: Exception) -> web.Response | None:
    """Bodies and specs refused to 4xx naming each field (415 not JSON, 422 invalid);
    unknown runs, messages or studies to 404; runs or studies still going, or ids taken, to
    409; a caller over its run limit to 429; None for anything else."""
    if isinstance(exc, BodyError):
        field = [FieldError(field=exc.field, message=str(exc))] if exc.field else []
        return error_response(exc.status, str(exc), field)
    if isinstance(exc, SpecError):
        problems = [FieldError(field=p.field, message=p.message) for p in exc.problems]
        return error_response(422, "invalid spec", problems)
    if isinstance(exc, ValidationError):
        problems = [
            FieldError(field=".".join(map(str, e["loc"])), message=e["msg"]) for e in exc.errors()
        ]
        return error_response(422, "invalid request", problems)
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return error_response(422, f"the body is not UTF-8 JSON: {exc}")
    if isinstance(exc, TooManyRuns):
        response = error_response(429, str(exc))
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    if isinstance(exc, DriftlabError):  # by category: 404, 409, 422, 503, 500
        if exc.category is Category.UNAVAILABLE:
            return redis_down(str(exc))
        return error_response(problem_status(exc), str(exc))
    return None


def redis_down(reason: str | None = None) -> web.Response:
    response = error_response(503, reason or str(RedisDown()))
    response.headers["Retry-After"] = str(REDIS_RETRY_AFTER_S)
    return response


@web.middleware
async def redis_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route that needs Redis answers 503 (with Retry-After) while it is down, and a
    request caught waiting on Redis when it goes away answers 503 at once (its handler is
    cancelled: whatever it stored before is kept; an event stream just ends)."""
    path = route_path(request)
    watch = request.app.get(REDIS_WATCH)
    if path in WITHOUT_REDIS or watch is None:
        return await handler(request)
    if not watch.up and not await watch.check():
        return redis_down()
    if path in STREAMING:
        return await handler(request)
    return await _unless_lost(request, handler, watch)


async def _unless_lost(
    request: web.Request, handler: Handler, watch: RedisWatch
) -> web.StreamResponse:
    """The handler's answer, or 503 should Redis be lost first."""
    answer = asyncio.ensure_future(handler(request))
    lost = asyncio.ensure_future(watch.lost.wait())
    try:
        await asyncio.wait((answer, lost), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        answer.cancel()
        raise
    finally:
        lost.cancel()
    if answer.done():
        return answer.result()
    answer.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await answer
    return redis_down()


def browser_guard(settings: ApiSettings) -> Middleware:
    """Without a token (loopback only), what keeps a web page the user visits from driving
    the server: the `Host` must be a loopback name, the bind address or an allowed host (no
    DNS rebinding), and an `Origin`, when sent, the server's own or an allowed one (no
    cross-site requests)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not _host_allowed(host, request, settings):
            return error_response(
                403, f"Host {host!r} is not this server's (DRIFTLAB_ALLOWED_HOSTS)"
            )
        origin = request.headers.get("Origin")
        own = f"{request.scheme}://{host}"
        if origin is not None and origin != own and origin not in settings.allowed_origins:
            return error_response(
                403, f"requests from {origin!r} are not allowed (DRIFTLAB_ALLOWED_ORIGINS)"
            )
        return await handler(request)

    return guard


def _host_allowed(host: str, request: web.Request, settings: ApiSettings) -> bool:
    name = host.rpartition("]")[0].lstrip("[") if host.startswith("[") else host.split(":")[0]
    if not name:
        return False
    if name in LOOPBACK_NAMES or name in settings.allowed_hosts:
        return True
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if sockname and name == sockname[0]:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@web.middleware
async def json_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A state-changing request with a body, or with a media type a web page may send
    across sites without asking (CORS-safelisted), must say JSON (415 if not): a browser
    sends no JSON across sites without a preflight this server never grants."""
    empty = request.content_length == 0 or not request.body_exists
    simple = request.content_type in CROSS_SITE_TYPES and "Content-Type" in request.headers
    refused = simple or not (empty or is_json(request.content_type))
    if request.method in STATE_CHANGING and refused:
        return error_response(
            415,
            "a request that changes state must send JSON (Content-Type: "
            f"application/json), got {request.content_type!r}",
        )
    return await handler(request)


def bearer_auth(token: str) -> Middleware:
    """Every route but the open ones needs `Authorization: Bearer TOKEN` (compared in constant
    time)."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if route_path(request) not in OPEN_PATHS and not hmac.compare_digest(given, expected):
            response = error_response(401, "missing or wrong bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return await handler(request)

    return auth
