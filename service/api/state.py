"""What every route shares: the application's keys, JSON responses, pages and run views."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from service.api.metrics import ApiMetrics
from service.api.models import RunView
from service.api.runner import ANONYMOUS, RunTasks
from service.api.settings import ApiSettings
from service.api.study_tasks import StudyTasks
from service.errors import RunNotFound
from service.lifecycle import RunControl
from service.provenance.store import ProvenanceStore
from service.status import RunStatus

SETTINGS = web.AppKey("settings", ApiSettings)
STORE = web.AppKey("store", ProvenanceStore)
RUNS = web.AppKey("runs", RunTasks)
STUDIES = web.AppKey("studies", StudyTasks)
METRICS = web.AppKey("metrics", ApiMetrics)
MAX_PAGE = 1000
MAX_CURSOR = 10**15


class PageQuery(BaseModel):
    """Cursor pagination: pass a page's `next_cursor` as `cursor` for the next page."""

    cursor: int = Field(0, ge=0, le=MAX_CURSOR, description="a `next_cursor` this server returned")
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="items per page")


class DeleteQuery(BaseModel):
    force: bool = Field(False, description="cancel it first when it is live")


def caller(request: web.Request) -> str:
    """Who starts a run, for the per-caller run limit: a digest of the bearer token when the
    server has one, else anonymous."""
    if request.app[SETTINGS].api_token is None:
        return ANONYMOUS
    given = request.headers.get("Authorization", "").encode()
    return f"token-{hashlib.sha256(given).hexdigest()[:16]}"


def control(request: web.Request) -> RunControl:
    """Cancel, delete and liveness of runs, this server's own included."""
    app = request.app
    return RunControl(app[STORE], app[SETTINGS].lease_s, app[RUNS])


def json_response(model: BaseModel, status: int = 200, **kwargs: Any) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status, **kwargs)


def next_cursor(position: int, total: int) -> str | None:
    return str(position) if position < total else None


async def run_view(request: web.Request, run_id: str) -> RunView:
    """The stored record, or `queued` for a run (or resume) waiting in this server
    (RunNotFound: 404)."""
    runs = request.app[RUNS]
    try:
        record = await request.app[STORE].get_run(run_id)
    except RunNotFound:
        if run_id in runs.tasks:
            return RunView(id=run_id, status=RunStatus.QUEUED)
        raise
    view = record_view(record)
    view.status = runs.status(run_id, view.status)
    return view


def record_view(record: dict[str, Any]) -> RunView:
    """A stored record as a view; one caught between its claim and its first write is
    `queued`."""
    record.pop("spec", None)
    status = RunStatus(record.get("status", RunStatus.QUEUED))
    return RunView(id=record["id"], status=status, record=record)
