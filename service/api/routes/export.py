"""A run's messages as a file: JSONL (streamed), CSV or Parquet, as `driftlab export` writes
them."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from service.api.middleware import error_response
from service.api.models import ErrorBody
from service.api.routing import Routes, parse_query
from service.api.state import STORE, run_view
from service.measure.choices import ExportFormat
from service.measure.export import (
    dump_flat_csv,
    dump_parquet,
    iter_records,
    jsonl_line,
)

routes = Routes("export")
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}
JSONL_CHUNK = 500


class ExportQuery(BaseModel):
    format: ExportFormat = Field("jsonl", description="jsonl (streamed), csv or parquet")


@routes.get(
    "/v1/runs/{run}/export",
    query=ExportQuery,
    responses={200: tuple(MEDIA_TYPES.values()), 404: ErrorBody, 409: ErrorBody, 422: ErrorBody},
)
async def export(request: web.Request) -> web.StreamResponse:
    """The run's messages with their tags and drift, one record each, in `format` (the
    messages.jsonl layout; CSV and Parquet flatten nested fields into dotted columns); 409
    while the run waits to start."""
    query = parse_query(request, ExportQuery)
    run_id = request.match_info["run"]
    if not (await run_view(request, run_id)).record:
        return error_response(409, f"run {run_id!r} is queued; nothing is stored yet")
    records = iter_records(request.app[STORE], run_id)
    headers = {"Content-Disposition": f'attachment; filename="{run_id}.{query.format}"'}
    if query.format == "jsonl":
        response = web.StreamResponse(headers=headers)
        response.content_type = MEDIA_TYPES["jsonl"]
        response.charset = "utf-8"
        await response.prepare(request)
        lines: list[str] = []
        async for record in records:
            lines.append(jsonl_line(record))
            if len(lines) == JSONL_CHUNK:
                await response.write("".join(lines).encode())
                lines = []
        await response.write("".join(lines).encode())
        await response.write_eof()
        return response
    kept = [record async for record in records]
    body = await asyncio.to_thread(_dump, query.format, kept)
    charset = "utf-8" if query.format == "csv" else None
    return web.Response(
        body=body, content_type=MEDIA_TYPES[query.format], charset=charset, headers=headers
    )


def _dump(export_format: str, records: list[dict[str, Any]]) -> bytes:
    if export_format == "csv":
        text = io.StringIO(newline="")
        dump_flat_csv(records, text)
        return text.getvalue().encode()
    binary = io.BytesIO()
    dump_parquet(records, binary)
    return binary.getvalue()
