"""Studies: start one (a background task, as `driftlab study`), its state, summary and
plots; cancel and delete one."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from service.api.body import read_json
from service.api.guards import Checked, admit
from service.api.middleware import error_response
from service.api.models import (
    ConditionFinal,
    ErrorBody,
    MetricSummary,
    StudyCreated,
    StudyPage,
    StudySummary,
    StudyView,
)
from service.api.routing import Routes, parse_query
from service.api.state import (
    SETTINGS,
    STUDIES,
    DeleteQuery,
    PageQuery,
    caller,
    json_response,
    next_cursor,
)
from service.api.study_tasks import study_id
from service.errors import Problem, SpecError
from service.status import RunStatus
from service.study.runner import Prepared, prepare_runs
from service.study.spec import StudySpec, parse_study, plan

routes = Routes("studies")
MARKDOWN = "text/markdown"
PNG = "image/png"


@routes.post(
    "/v1/studies",
    body=StudySpec,
    responses={202: StudyCreated, 409: ErrorBody, 413: ErrorBody, 422: ErrorBody, 429: ErrorBody},
)
async def start_study(request: web.Request) -> web.Response:
    """Start a study (its base spec inline); the same study posted again resumes it."""
    settings = request.app[SETTINGS]
    raw: Any = await read_json(request, settings)
    if not isinstance(raw, dict):
        raise SpecError([Problem("", "the body must be a study spec (a JSON object)")])

    def build() -> tuple[tuple[StudySpec, list[Prepared]], list[Checked]]:
        study, base = parse_study(raw, Path.cwd(), settings)
        if study.replicates == "auto":
            raise SpecError([Problem("replicates", "auto is for `driftlab study`; give a number")])
        prepared = prepare_runs(plan(study, base), settings, {})
        checked = [
            (f"condition [{run.planned.condition.name}]", run.experiment)
            for run in prepared
            if run.planned.replicate == 0
        ]
        return (study, prepared), checked

    study, prepared = await admit(
        settings, raw, build, study=True, redis=request.app[STUDIES].store.redis
    )
    new_id = study_id(study, prepared)
    await request.app[STUDIES].start(new_id, study, prepared, caller(request))
    location = f"/v1/studies/{new_id}"
    body = StudyCreated(id=new_id, status=RunStatus.RUNNING, location=location)
    return json_response(body, 202, headers={"Location": location})


@routes.get("/v1/studies", query=PageQuery, responses={200: StudyPage, 422: ErrorBody})
async def list_studies(request: web.Request) -> web.Response:
    """Studies started over HTTP, newest first."""
    query = parse_query(request, PageQuery)
    items, total = await request.app[STUDIES].page(query.cursor, query.limit)
    end = query.cursor + query.limit
    return json_response(StudyPage(items=items, next_cursor=next_cursor(end, total)))


@routes.get("/v1/studies/{study}", responses={200: StudyView, 404: ErrorBody})
async def get_study(request: web.Request) -> web.Response:
    """One study: status, conditions, its runs with their statuses, progress, outputs."""
    return json_response(await request.app[STUDIES].view(request.match_info["study"]))


@routes.post(
    "/v1/studies/{study}/cancel", responses={200: StudyView, 404: ErrorBody, 409: ErrorBody}
)
async def cancel_study(request: web.Request) -> web.Response:
    """Cancel a live study, its live runs with it (and wait until it has stopped); 409
    otherwise."""
    studies = request.app[STUDIES]
    study_id = request.match_info["study"]
    view = await studies.view(study_id)
    if not await studies.cancel(study_id):
        return error_response(409, f"study {study_id!r} is {view.status.value}, not live")
    return json_response(await studies.view(study_id))


@routes.delete(
    "/v1/studies/{study}", query=DeleteQuery, responses={204: "", 404: ErrorBody, 409: ErrorBody}
)
async def delete_study(request: web.Request) -> web.Response:
    """Remove a study and its runs' data; 409 while it is live unless `?force=true` (cancels
    it first)."""
    query = parse_query(request, DeleteQuery)
    studies = request.app[STUDIES]
    study_id = request.match_info["study"]
    await studies.view(study_id)
    if not query.force and await studies.is_live(study_id):
        return error_response(409, f"study {study_id!r} is live; cancel it or use ?force=true")
    await studies.delete(study_id, force=query.force)
    return web.Response(status=204)


@routes.get("/v1/studies/{study}/summary", responses={200: StudySummary, 404: ErrorBody})
async def get_summary(request: web.Request) -> web.StreamResponse:
    """summary.md (text/markdown), or with `Accept: application/json` each condition's
    metrics at its last round, means over runs (from study.csv), and the replicate-level
    statistics of summary.json."""
    if "application/json" in request.headers.get("Accept", ""):
        view, path = await _output(request, "study.csv")
        summary = _summary(view, path)
        if (statistics := path.with_name("summary.json")).is_file():
            summary.statistics = json.loads(statistics.read_text(encoding="utf-8"))
        return json_response(summary)
    _, path = await _output(request, "summary.md")
    return web.Response(text=path.read_text(encoding="utf-8"), content_type=MARKDOWN)


@routes.get("/v1/studies/{study}/study.png", responses={200: PNG, 404: ErrorBody})
async def get_study_plot(request: web.Request) -> web.StreamResponse:
    """Per-round means per condition with 95% CI bands."""
    _, path = await _output(request, "study.png")
    return web.FileResponse(path)


@routes.get("/v1/studies/{study}/phase.png", responses={200: PNG, 404: ErrorBody})
async def get_phase_plot(request: web.Request) -> web.StreamResponse:
    """The heatmap over the first two numeric axes (when the grid has two)."""
    _, path = await _output(request, "phase.png")
    return web.FileResponse(path)


async def _output(request: web.Request, name: str) -> tuple[StudyView, Path]:
    """The study and a file it wrote once it succeeded (404 before, or when it wrote none)."""
    studies = request.app[STUDIES]
    view = await studies.view(request.match_info["study"])
    if name not in view.outputs:
        raise web.HTTPNotFound(
            text=ErrorBody(
                error=f"study {view.id!r} ({view.status.value}) has no {name}"
            ).model_dump_json(),
            content_type="application/json",
        )
    return view, studies.out_dir(view.id) / name


def _summary(view: StudyView, curves: Path) -> StudySummary:
    """Each condition's metrics at its last round, read back from study.csv."""
    last: dict[str, int] = {}
    metrics: dict[tuple[str, int], dict[str, MetricSummary]] = {}
    with curves.open(newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["by"] != "round":
                continue
            condition, step = row["condition"], int(row["step"])
            last[condition] = max(step, last.get(condition, step))
            metrics.setdefault((condition, step), {})[row["metric"]] = MetricSummary(
                n=int(row["n"]),
                mean=_number(row["mean"]),
                ci_low=_number(row["ci_low"]),
                ci_high=_number(row["ci_high"]),
            )
    finals = [
        ConditionFinal(condition=c.name, round=last[c.name], metrics=metrics[c.name, last[c.name]])
        for c in view.conditions
        if c.name in last
    ]
    return StudySummary(id=view.id, outcome=view.outcome, conditions=finals)


def _number(text: str) -> float | None:
    return float(text) if text else None
