"""Errors as JSON bodies, and bearer-token auth."""

from __future__ import annotations

import hmac
import json

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import ValidationError

from service.api.models import ErrorBody, FieldError
from service.api.runner import RETRY_AFTER_S, TooManyRuns
from service.api.study_tasks import StudyActive, StudyNotFound
from service.errors import MessageNotFound, RunActive, RunExists, RunNotFound, SpecError

OPEN_PATHS: tuple[str, ...] = ("/v1/health", "/v1/openapi.json", "/docs", "/docs/{asset}")
"""Route paths answered without the token: health, the OpenAPI document, the docs page."""
OPEN_PATHS += ("/", "/ui/{asset}", "/ui/vendor/{asset}")  # the dashboard's page and files


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
    """Validation errors to 422 naming each field; unknown runs, messages or studies to
    404; runs or studies still going, or ids taken, to 409; a caller over its run limit to 429."""
    try:
        return await handler(request)
    except SpecError as exc:
        problems = [FieldError(field=p.field, message=p.message) for p in exc.problems]
        return error_response(422, "invalid spec", problems)
    except ValidationError as exc:
        problems = [
            FieldError(field=".".join(map(str, e["loc"])), message=e["msg"]) for e in exc.errors()
        ]
        return error_response(422, "invalid request", problems)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return error_response(422, f"the body is not UTF-8 JSON: {exc}")
    except (RunNotFound, MessageNotFound, StudyNotFound) as exc:
        return error_response(404, str(exc))
    except (RunActive, RunExists, StudyActive) as exc:
        return error_response(409, str(exc))
    except TooManyRuns as exc:
        response = error_response(429, str(exc))
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "the request body is too large")


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
