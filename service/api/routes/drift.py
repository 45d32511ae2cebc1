"""A run's drift tables (JSON, or CSV by `Accept`) and its drift plot."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from service.api.middleware import error_response
from service.api.models import Drift, ErrorBody
from service.api.negotiation import preferred
from service.api.routing import Routes, parse_query
from service.api.state import json_response, run_view
from service.measure.csv_files import dump_csv
from service.measure.export import DRIFT_COLUMNS
from service.measure.plots import render_drift
from service.measure.transmission import TRANSMISSION_COLUMNS
from service.measure.views import ANCESTRY_COLUMNS, MIN_GENERATION_COLUMNS, ROUND_COLUMNS

routes = Routes("drift")
JSON, CSV = "application/json", "text/csv"
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
CSV_TABLES: dict[str, tuple[str, Iterable[str]]] = {
    "generation": ("drift", DRIFT_COLUMNS),
    "round": ("drift_by_round", ROUND_COLUMNS),
    "min_generation": ("drift_by_min_generation", MIN_GENERATION_COLUMNS),
    "ancestry": ("drift_by_ancestry", ANCESTRY_COLUMNS),
    "transmission": ("transmission_by_round", TRANSMISSION_COLUMNS),
}


class DriftQuery(BaseModel):
    table: Literal["generation", "round", "min_generation", "ancestry", "transmission"] = Field(
        "generation", description="the table a CSV answer holds (JSON holds them all)"
    )


@routes.get(
    "/v1/runs/{run}/drift",
    query=DriftQuery,
    responses={200: (Drift, CSV), 404: ErrorBody, 422: ErrorBody},
)
async def get_drift(request: web.Request) -> web.Response:
    """Drift per generation and per round: JSON, or one table as CSV when `Accept` prefers
    text/csv (filled once the run is exported)."""
    query = parse_query(request, DriftQuery)
    run_id = request.match_info["run"]
    view = await run_view(request, run_id)
    if preferred(request.headers.get("Accept"), (JSON, CSV)) == CSV:
        name, columns = CSV_TABLES[query.table]
        text = io.StringIO(newline="")
        dump_csv(view.record.get(name, []), text, columns)
        return web.Response(text=text.getvalue(), content_type=CSV, headers={"Vary": "Accept"})
    tables = {k: v for k, v in view.record.items() if k in Drift.model_fields and k != "run"}
    return json_response(Drift(run=run_id, **tables), headers={"Vary": "Accept"})


@routes.get("/v1/runs/{run}/drift.png", responses={200: IMAGE_TYPES["png"], 404: ErrorBody})
async def get_drift_png(request: web.Request) -> web.Response:
    """The run's drift plot (per-generation means) as PNG."""
    return await _plot(request, "png")


@routes.get("/v1/runs/{run}/drift.svg", responses={200: IMAGE_TYPES["svg"], 404: ErrorBody})
async def get_drift_svg(request: web.Request) -> web.Response:
    """The run's drift plot (per-generation means) as SVG."""
    return await _plot(request, "svg")


async def _plot(request: web.Request, image_format: str) -> web.Response:
    run_id = request.match_info["run"]
    record = (await run_view(request, run_id)).record
    rows = record.get("drift") or []
    if not rows:
        return error_response(404, f"run {run_id!r} has no drift measured yet")
    title = f"run {run_id} ({record.get('backend')})"
    image = await asyncio.to_thread(render_drift, rows, title, image_format)
    return web.Response(body=image, content_type=IMAGE_TYPES[image_format])
