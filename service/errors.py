"""The service's errors: small, flat, each carrying what a user needs to fix the problem.

Every one is a `DriftlabError` with a category; each face maps the categories once (the CLI
to exit codes in service/cli/failures.py, the HTTP API to statuses in service/api/problems.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class Category(StrEnum):
    """What kind of failure an error is, whoever reports it."""

    BAD_INPUT = "bad_input"  # the user must change what they gave (exit 2, HTTP 422)
    NOT_FOUND = "not_found"  # no such run, message or study (exit 2, HTTP 404)
    CONFLICT = "conflict"  # the thing is in a state that forbids this now (exit 2, HTTP 409)
    UNAVAILABLE = "unavailable"  # a service it needs does not answer (exit 1, HTTP 503)
    INTERNAL = "internal"  # the run or a part of it failed (exit 1, HTTP 500)


class DriftlabError(Exception):
    """The root of driftlab's own errors; a subclass with a `template` is raised with the
    template's arguments (`{0!r}` the first) and reads as the filled template."""

    category = Category.INTERNAL
    template: ClassVar[str] = ""

    def __str__(self) -> str:
        return self.template.format(*self.args) if self.template else super().__str__()


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec: where (a dotted field path) and what."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class SpecError(DriftlabError, ValueError):
    """A spec that cannot run; lists every problem found."""

    category = Category.BAD_INPUT

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class BadInput(DriftlabError, ValueError):
    """A command-line value or a setting the user must change (the CLI exits with code 2)."""

    category = Category.BAD_INPUT


class RunNotFound(DriftlabError, KeyError):
    """No stored run has this id."""

    category = Category.NOT_FOUND
    template = "no run {0!r} in the store"


class RunActive(DriftlabError, RuntimeError):
    """A process holds the run's lease: it is still going."""

    category = Category.CONFLICT
    template = (
        "run {0!r} is still running (a process holds its lease); wait for it to end, or "
        "`driftlab delete --force {0}` to cancel it first"
    )


class MessageNotFound(DriftlabError, KeyError):
    """No stored message has this id."""

    category = Category.NOT_FOUND
    template = "no message {0!r} in run {1!r}"


class WorkerFailed(DriftlabError, RuntimeError):
    """A step worker process died (killed, out of memory); the run fails."""

    category = Category.INTERNAL


class RunExists(DriftlabError, ValueError):
    """A run with this id is already stored (or being created by another process)."""

    category = Category.CONFLICT
    template = "run {0!r} already exists; `driftlab delete {0}` first or choose another --run-id"


class StudyIncomplete(DriftlabError, RuntimeError):
    """Some runs of a study failed; the others are stored, and a new start retries these."""

    category = Category.INTERNAL

    def __init__(self, failed: dict[str, str]) -> None:
        self.failed = failed
        listed = "; ".join(f"{run_id}: {error}" for run_id, error in failed.items())
        super().__init__(
            f"{len(failed)} run{'s' * (len(failed) != 1)} of the study failed ({listed}); "
            "the other runs are stored, and starting the study again retries these"
        )


def describe_failure(exc: BaseException) -> str:
    """`Type: message` for one failure; for a group, each distinct one with how often."""
    if not isinstance(exc, BaseExceptionGroup):
        return f"{type(exc).__name__}: {exc}"
    seen: dict[str, int] = {}
    for member in exc.exceptions:
        text = describe_failure(member)
        seen[text] = seen.get(text, 0) + 1
    return "; ".join(text if n == 1 else f"{text} (x{n})" for text, n in seen.items())


class RunFailed(DriftlabError, RuntimeError):
    """A run stopped by its own rules (too many failed steps, `on_error: fail`)."""

    category = Category.INTERNAL


class LeaseHeld(DriftlabError, RuntimeError):
    """Another live process holds the run's lease."""

    category = Category.CONFLICT


class RunCancelled(DriftlabError, RuntimeError):
    """The run was cancelled from outside (`driftlab delete --force`), or its lease was
    taken or its record deleted while it ran."""

    category = Category.CONFLICT


class UnknownWireVersion(DriftlabError, ValueError):
    """A distributed step or outcome written by a driftlab of another wire version."""

    category = Category.BAD_INPUT
