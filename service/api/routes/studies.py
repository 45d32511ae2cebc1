"""Studies: start one (a background task, as `driftlab study`), its state, summary and plots."""

from __future__ import annotations

import contextlib
import csv
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from service.api.guards import server_field_problems, usage_problems
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
from service.api.state import SETTINGS, STUDIES, PageQuery, caller, json_response, next_cursor
from service.api.study_tasks import StudyNotFound, study_id
from service.errors import Problem, SpecError
from service.status import RunStatus
from service.study.runner import prepare_runs
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
    raw: Any = await request.json()
    if not isinstance(raw, dict):
        raise SpecError([Problem("", "the body must be a study spec (a JSON object)")])
    if not settings.allow_server_paths and (problems := _server_problems(raw)):
        raise SpecError(problems)
    study, base = parse_study(raw, Path.cwd(), settings)
    if study.replicates == "auto":
        raise SpecError([Problem("replicates", "auto is for `driftlab study`; give a number")])
    prepared = prepare_runs(plan(study, base), settings, {})
    if problems := [
        Problem(f"condition [{run.planned.condition.name}] {problem.field}", problem.message)
        for run in prepared
        if run.planned.replicate == 0
        for problem in usage_problems(run.experiment, settings)
    ]:
        raise SpecError(problems)
    new_id = study_id(study, prepared)
    await request.app[STUDIES].start(new_id, study, prepared, caller(request))
    location = f"/v1/studies/{new_id}"
    body = StudyCreated(id=new_id, status=RunStatus.RUNNING, location=location)
    return json_response(body, 202, headers={"Location": location})


def _server_problems(raw: dict[str, Any]) -> list[Problem]:
    """The guards of runs over the whole study, and over each value `set` or the grid gives a
    dotted path (`topology.path`, `model`), and a base given as a file."""
    problems = server_field_problems(raw)
    for section in ("set", "grid"):
        fields = raw.get(section)
        for path, value in fields.items() if isinstance(fields, dict) else ():
            *parents, last = str(path).split(".")
            values = [value]
            if section == "grid":
                values = list(value.values()) if isinstance(value, dict) else value
            for one in values if isinstance(values, list) else []:
                problems += server_field_problems({last: one}, ".".join([section, *parents]))
    if isinstance(raw.get("base"), str):
        problems.append(Problem("base", "a spec file is not accepted over HTTP; give it inline"))
    return list(dict.fromkeys(problems))


@routes.get("/v1/studies", query=PageQuery, responses={200: StudyPage, 422: ErrorBody})
async def list_studies(request: web.Request) -> web.Response:
    """Studies started over HTTP (with this server's Redis), newest first."""
    query = parse_query(request, PageQuery)
    studies = request.app[STUDIES]
    views = []
    for study in await studies.ids():
        with contextlib.suppress(StudyNotFound):  # deleted meanwhile
            views.append(await studies.view(study))
    views.sort(key=lambda view: view.started_at or "", reverse=True)
    end = query.cursor + query.limit
    page = StudyPage(items=views[query.cursor : end], next_cursor=next_cursor(end, len(views)))
    return json_response(page)


@routes.get("/v1/studies/{study}", responses={200: StudyView, 404: ErrorBody})
async def get_study(request: web.Request) -> web.Response:
    """One study: status, conditions, its runs with their statuses, progress, outputs."""
    return json_response(await request.app[STUDIES].view(request.match_info["study"]))


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
