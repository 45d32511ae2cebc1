"""The OpenAPI document and the /docs page that renders it: Swagger UI from the
swagger-ui-bundle package, served by this server (nothing is fetched from elsewhere)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from service.api.middleware import OPEN_PATHS, error_response
from service.api.models import ErrorBody
from service.api.openapi import build_document
from service.api.routing import Routes

DOCUMENT = web.AppKey("openapi_document", bytes)
ASSETS = Path(swagger_ui_path)
ASSET_NAMES = frozenset(
    path.name for path in ASSETS.iterdir() if path.suffix in {".js", ".css", ".png"}
)
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>driftlab API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "v1/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,
});
</script>
</body>
</html>
"""

routes = Routes("docs")


@cache
def document_json(groups: tuple[Routes, ...]) -> bytes:
    """The OpenAPI document of `groups` as JSON (the open paths marked as such), built once."""
    return json.dumps(build_document(groups, OPEN_PATHS), separators=(",", ":")).encode()


@routes.get("/v1/openapi.json", responses={200: "application/json"})
async def openapi(request: web.Request) -> web.Response:
    """This document: every route with its parameters, bodies and answers (OpenAPI 3.1)."""
    return web.Response(body=request.app[DOCUMENT], content_type="application/json")


@routes.get("/docs", responses={200: "text/html"})
async def docs_page(request: web.Request) -> web.Response:
    """A page rendering the OpenAPI document (Swagger UI, served by this server)."""
    return web.Response(text=PAGE, content_type="text/html")


@routes.get("/docs/{asset}", responses={200: "*/*", 404: ErrorBody})
async def docs_asset(request: web.Request) -> web.StreamResponse:
    """A file of the docs page: Swagger UI's script, style sheet or icon."""
    name = request.match_info["asset"]
    if name not in ASSET_NAMES:
        return error_response(404, f"no docs file {name!r}")
    return web.FileResponse(ASSETS / name)
