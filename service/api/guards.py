"""Refusing spec fields that reach the server's files or environment, and what the server's
settings do not allow over HTTP."""

from __future__ import annotations

from typing import Any

from service.api.settings import ApiSettings
from service.errors import Problem
from service.experiment.experiment import Experiment

SERVER_FIELDS = ("path", "base_url", "api_key_env")


def server_field_problems(raw: Any, where: str = "") -> list[Problem]:
    """Every field of `raw` (at any depth) that names a server path, URL or variable, and a
    local backend's model given as a path."""
    problems: list[Problem] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            field = f"{where}.{key}" if where else str(key)
            if key in SERVER_FIELDS and value is not None:
                problems.append(Problem(field, "not accepted over HTTP by this server"))
            elif key == "model" and isinstance(value, str) and _looks_like_path(value):
                problems.append(Problem(field, "a model path is not accepted over HTTP"))
            else:
                problems += server_field_problems(value, field)
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            problems += server_field_problems(value, f"{where}.{index}")
    return problems


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", ".", "~")) or model.endswith(".gguf")


def usage_problems(experiment: Experiment, settings: ApiSettings) -> list[Problem]:
    """Each chat backend (the run's, a persona's, the judge's), embedder or number of worker
    processes `experiment` would use that the server's settings do not allow."""
    spec = experiment.spec
    backends: list[tuple[str, str | None]] = [("backend", experiment.backend)]
    backends += [(f"personas.{i}.backend", p.backend) for i, p in enumerate(spec.personas)]
    if spec.judge is not None:
        backends.append(("judge.backend", spec.judge.backend))
    problems = [
        Problem(
            field, f"backend {kind!r} is not allowed by this server (DRIFTLAB_ALLOWED_BACKENDS)"
        )
        for field, kind in backends
        if kind is not None and kind not in settings.allowed_backends
    ]
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
    return problems
