"""The HTTP status of each category of driftlab's errors: the one map the API uses."""

from __future__ import annotations

from service.errors import Category, DriftlabError

STATUS_OF = {
    Category.BAD_INPUT: 422,
    Category.NOT_FOUND: 404,
    Category.CONFLICT: 409,
    Category.UNAVAILABLE: 503,
    Category.INTERNAL: 500,
}


def problem_status(exc: DriftlabError) -> int:
    return STATUS_OF[exc.category]
