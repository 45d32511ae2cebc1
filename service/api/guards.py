"""Server policy for every route that starts work (a run, a resume, a study, a study posted
again to retry its failed runs): `admit` alone decides. It refuses spec fields that reach the
server's files or environment, backends, embedders, step processes and distributed runs the
settings do not allow, and studies over the size limit; it builds what it checks off the
event loop, so a large spec or grid never stalls other requests."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from redis.asyncio import Redis

from agents.local_chat import BUNDLED_MODEL
from service.api.settings import ApiSettings
from service.errors import Category, DriftlabError, Problem, SpecError
from service.experiment.experiment import Experiment
from service.lifecycle import live_workers

WORK_ROUTES = frozenset(
    {("POST", "/v1/runs"), ("POST", "/v1/runs/{run}/resume"), ("POST", "/v1/studies")}
)
"""The routes that start work, each deciding through `admit` (a study posted again retries
its failed runs through the same route)."""
SERVER_FIELDS = ("path", "base_url", "api_key_env")
MODEL_FIELDS = ("model", "embedder_model")
Built = TypeVar("Built")
Checked = tuple[str, Experiment]
"""An experiment a route would run, and the field its problems are reported under."""


class NoWorkers(DriftlabError, RuntimeError):
    """A distributed run no `driftlab worker` would take (409)."""

    category = Category.CONFLICT
    template = (
        "no `driftlab worker` has announced itself in the last {0:g} s "
        "(DRIFTLAB_WORKER_WAIT_S); start workers on this Redis, then post again"
    )


async def admit(
    settings: ApiSettings,
    raw: Any,
    build: Callable[[], tuple[Built, Iterable[Checked]]],
    *,
    redis: Redis,
    study: bool = False,
) -> Built:
    """What `build` builds from `raw` once the server's policy allows it; SpecError listing
    every problem otherwise, NoWorkers for a distributed run without live workers. `raw` (a
    spec, a stored spec or a study) is checked before `build` runs (it may read files a spec
    names); `build` runs in a thread."""
    problems = [] if settings.allow_server_paths else server_field_problems(raw)
    if study and isinstance(raw, dict):
        problems += study_problems(raw, settings)
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    built, experiments = await asyncio.to_thread(_built, build)
    problems = [
        Problem(f"{where} {problem.field}".strip(), problem.message)
        for where, experiment in experiments
        for problem in usage_problems(experiment, settings)
    ]
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    distributed = any(experiment.spec.distributed for _, experiment in experiments)
    if distributed and not await live_workers(redis, settings.worker_wait_s):
        raise NoWorkers(settings.worker_wait_s)
    return built


def _built(
    build: Callable[[], tuple[Built, Iterable[Checked]]],
) -> tuple[Built, list[Checked]]:
    built, experiments = build()
    return built, list(experiments)


def server_field_problems(raw: Any, where: str = "") -> list[Problem]:
    """Every field of `raw` (at any depth) that names a server path, URL or variable, and a
    model given as a path."""
    problems: list[Problem] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            field = f"{where}.{key}" if where else str(key)
            if key in SERVER_FIELDS and value is not None:
                problems.append(Problem(field, "not accepted over HTTP by this server"))
            elif key in MODEL_FIELDS and isinstance(value, str) and _looks_like_path(value):
                problems.append(Problem(field, "a model path is not accepted over HTTP"))
            else:
                problems += server_field_problems(value, field)
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            problems += server_field_problems(value, f"{where}.{index}")
    return problems


def _looks_like_path(model: str) -> bool:
    return (
        model.startswith(("/", ".", "~"))
        or "\\" in model
        or ".." in model
        or model.lower().endswith(".gguf")
    )


def study_problems(raw: dict[str, Any], settings: ApiSettings) -> list[Problem]:
    """The server-field guards over each value `set` or the grid gives a dotted path
    (`topology.path`, `model`), a base given as a file, and a grid over the size limit."""
    problems: list[Problem] = []
    if not settings.allow_server_paths:
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
            problems.append(
                Problem("base", "a spec file is not accepted over HTTP; give it inline")
            )
    runs = study_size(raw)
    if runs > settings.max_study_runs:
        problems.append(
            Problem(
                "grid",
                f"the study would start {runs:,} runs (grid cells x source variants x "
                f"replicates); at most {settings.max_study_runs:,} here "
                "(DRIFTLAB_MAX_STUDY_RUNS)",
            )
        )
    return problems


def study_size(raw: dict[str, Any]) -> int:
    """Runs a raw study asks for, counted before it is expanded (values of a malformed
    field count as one: validation reports them)."""
    grid = raw.get("grid")
    axes = grid.values() if isinstance(grid, dict) else []
    variants = raw.get("source_variants")
    replicates = raw.get("replicates", 1)
    return math.prod(
        [
            *(len(values) if isinstance(values, list | dict) else 1 for values in axes),
            max(1, len(variants) if isinstance(variants, list) else 1),
            replicates if isinstance(replicates, int) and replicates > 0 else 1,
        ]
    )


def usage_problems(experiment: Experiment, settings: ApiSettings) -> list[Problem]:
    """Each chat backend (the run's, a persona's, the judge's), local model file, embedder,
    number of worker processes or distributed run `experiment` would use that the server's
    settings do not allow."""
    spec = experiment.spec
    backends: list[tuple[str, str | None, str | None]] = [
        ("backend", experiment.backend, spec.model)
    ]
    backends += [(f"personas.{i}.backend", p.backend, p.model) for i, p in enumerate(spec.personas)]
    if spec.judge is not None:
        backends.append(("judge.backend", spec.judge.backend, spec.judge.model))
    problems = [
        Problem(
            field, f"backend {kind!r} is not allowed by this server (DRIFTLAB_ALLOWED_BACKENDS)"
        )
        for field, kind, _ in backends
        if kind is not None and kind not in settings.allowed_backends
    ]
    if not settings.allow_server_paths:
        problems += [
            Problem(
                field.replace("backend", "model"),
                "a local model other than the bundled one is a file on the server, "
                "not accepted over HTTP",
            )
            for field, kind, model in backends
            if (kind or experiment.backend) == "local" and model not in (None, BUNDLED_MODEL)
        ]
        if experiment.embedder == "local" and spec.embedder_model is not None:
            problems.append(
                Problem(
                    "embedder_model",
                    "a local embedder other than the bundled one is a directory on the "
                    "server, not accepted over HTTP",
                )
            )
    if experiment.embedder not in settings.allowed_embedders:
        problems.append(
            Problem(
                "embedder",
                f"embedder {experiment.embedder!r} is not allowed by this server "
                "(DRIFTLAB_ALLOWED_EMBEDDERS)",
            )
        )
    if spec.workers > settings.max_workers:
        problems.append(
            Problem("workers", f"at most {settings.max_workers} here (DRIFTLAB_MAX_WORKERS)")
        )
    if spec.distributed and not settings.allow_distributed:
        problems.append(
            Problem(
                "distributed",
                "distributed runs are not allowed by this server (DRIFTLAB_ALLOW_DISTRIBUTED)",
            )
        )
    return problems
