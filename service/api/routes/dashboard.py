"""The dashboard: one page at `/` and its files under `/ui/`, served from the package (no
CDN; third-party files under `/ui/vendor/`), and the bundled examples it starts runs from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from service.api.middleware import error_response
from service.api.models import ErrorBody, Example, ExamplePage
from service.api.routing import Routes
from service.api.state import json_response

ASSETS = Path(__file__).resolve().parents[1] / "dashboard"
VENDOR = ASSETS / "vendor"
REPOSITORY_EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

routes = Routes("dashboard")


def _files(folder: Path) -> frozenset[str]:
    return frozenset(path.name for path in folder.iterdir() if path.is_file())


ASSET_NAMES, VENDOR_NAMES = _files(ASSETS), _files(VENDOR)


@routes.get("/", responses={200: "text/html"})
async def dashboard_page(request: web.Request) -> web.StreamResponse:
    """The dashboard page: runs, studies, live runs, lineages, comparisons (no token
    needed to load it; it asks for one and sends it with every API request)."""
    return web.FileResponse(ASSETS / "index.html")


@routes.get("/ui/{asset}", responses={200: "*/*", 404: ErrorBody})
async def dashboard_asset(request: web.Request) -> web.StreamResponse:
    """A file of the dashboard: its scripts and style sheet."""
    return _asset(ASSETS, ASSET_NAMES, request.match_info["asset"])


@routes.get("/ui/vendor/{asset}", responses={200: "*/*", 404: ErrorBody})
async def dashboard_vendor_asset(request: web.Request) -> web.StreamResponse:
    """A third-party file of the dashboard (graph and chart libraries, with their licences)."""
    return _asset(VENDOR, VENDOR_NAMES, request.match_info["asset"])


def _asset(folder: Path, names: frozenset[str], name: str) -> web.StreamResponse:
    if name not in names:
        return error_response(404, f"no dashboard file {name!r}")
    return web.FileResponse(folder / name)


@routes.get("/v1/examples", responses={200: ExamplePage})
async def list_examples(request: web.Request) -> web.Response:
    """The example specs and studies shipped beside this installation (`examples/` in the
    working directory or the source tree), as YAML; a study's base file is inlined."""
    return json_response(ExamplePage(items=bundled_examples()))


def bundled_examples() -> list[Example]:
    folders = dict.fromkeys(
        folder.resolve()
        for folder in (Path.cwd() / "examples", REPOSITORY_EXAMPLES)
        if folder.is_dir()
    )
    found: dict[str, Example] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.yaml")):
            name = path.relative_to(folder).with_suffix("").as_posix()
            text = path.read_text(encoding="utf-8")
            raw = yaml.safe_load(text)
            if not isinstance(raw, dict) or name in found:
                continue
            if "base" not in raw:
                found[name] = Example(name=name, kind="run", yaml=text)
            elif example := _inline_base(raw, path.parent):
                found[name] = Example(name=name, kind="study", yaml=example)
    return list(found.values())


def _inline_base(raw: dict[str, Any], folder: Path) -> str | None:
    """The study as YAML with its base spec inline (a study posted over HTTP needs it so);
    None when the base file is missing."""
    if isinstance(raw["base"], str):
        base = folder / raw["base"]
        if not base.is_file():
            return None
        raw["base"] = yaml.safe_load(base.read_text(encoding="utf-8"))
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
