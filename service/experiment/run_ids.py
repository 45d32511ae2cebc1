"""Run ids: what a user may name a run (the id becomes Redis keys and a folder name)."""

from __future__ import annotations

import re

from service.errors import BadInput
from service.experiment.settings import Settings, limit_hint

RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
GENERATED_SUFFIX_LENGTH = len("-YYYYMMDD-HHMMSS-abcdef")


def run_id_problem(run_id: str, settings: Settings) -> str | None:
    """Why `run_id` cannot name a run, or None if it can."""
    if len(run_id) > settings.max_run_id_length:
        return (
            f"a run id has at most {settings.max_run_id_length} characters, got {len(run_id)} "
            f"(raise {limit_hint('max_run_id_length')} to allow more)"
        )
    if not RUN_ID_PATTERN.fullmatch(run_id):
        return (
            f"a run id starts with a letter or digit and holds only letters, digits, '.', '_' "
            f"and '-'; got {run_id!r}"
        )
    return None


def check_run_id(run_id: str, settings: Settings) -> str:
    """`run_id` if it can name a run; else BadInput saying why."""
    problem = run_id_problem(run_id, settings)
    if problem:
        raise BadInput(problem)
    return run_id


def max_name_length(settings: Settings) -> int:
    """The longest experiment name whose generated run ids stay within the limit."""
    return settings.max_run_id_length - GENERATED_SUFFIX_LENGTH
