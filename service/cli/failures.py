"""How the CLI reports a failure: one readable message and a documented exit code."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from redis.exceptions import RedisError

from agents.backend import BackendError
from service.errors import (
    BadInput,
    Category,
    DriftlabError,
    RunCancelled,
    SpecError,
    WorkerFailed,
    describe_failure,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
EXIT_OF = {
    Category.BAD_INPUT: EXIT_USAGE,
    Category.NOT_FOUND: EXIT_USAGE,
    Category.CONFLICT: EXIT_USAGE,
    Category.UNAVAILABLE: EXIT_FAILED,
    Category.INTERNAL: EXIT_FAILED,
}
MAX_SHOWN_PROBLEMS = 50
DEBUG_HINT = "run again with --debug to see the traceback"


@dataclass(frozen=True)
class Failure:
    """What to print (a headline and detail lines, no markup) and the exit code."""

    code: int
    headline: str
    details: tuple[str, ...] = ()


def describe(exc: BaseException) -> Failure:
    """The failure a user sees for `exc`: exit 2 for their input (a bad value, an unknown
    run, a conflict), 130 for a cancelled run, 1 for anything else."""
    if isinstance(exc, SpecError):
        count = len(exc.problems)
        shown = [f"  - {problem}" for problem in exc.problems[:MAX_SHOWN_PROBLEMS]]
        if count > MAX_SHOWN_PROBLEMS:
            shown.append(f"  ... and {count - MAX_SHOWN_PROBLEMS} more")
        return Failure(
            EXIT_USAGE, f"invalid spec ({count} problem{'s' * (count != 1)}):", tuple(shown)
        )
    if isinstance(exc, RunCancelled):
        return Failure(EXIT_INTERRUPTED, f"cancelled: {exc}")
    if isinstance(exc, DriftlabError):
        return Failure(EXIT_OF[exc.category], f"error: {exc}")
    if isinstance(exc, BackendError):
        return Failure(EXIT_FAILED, f"error: {exc}")
    if isinstance(exc, ExceptionGroup) and exc.split((BackendError, WorkerFailed))[1] is None:
        return Failure(EXIT_FAILED, f"error: {describe_failure(exc)}")  # several steps failed
    return _outside_failure(exc)


def _outside_failure(exc: BaseException) -> Failure:
    """A failure outside the user's input and outside driftlab's own errors."""
    if isinstance(exc, RedisError):
        return Failure(
            EXIT_FAILED,
            f"error: Redis failed during the command ({_named(exc)}); "
            "whatever was stored before is kept",
        )
    if isinstance(exc, MemoryError):
        return Failure(EXIT_FAILED, "error: out of memory; try a smaller spec or lower limits")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return Failure(EXIT_FAILED, f"error: {exc.strerror or exc}{where}")
    return Failure(EXIT_FAILED, f"error: unexpected failure ({_named(exc)}); {DEBUG_HINT}")


def settings_error(exc: ValidationError) -> BadInput:
    """A BadInput naming each DRIFTLAB_* variable whose value Settings refused."""
    lines = [
        f"DRIFTLAB_{'_'.join(map(str, error['loc'])).upper()}: {error['msg']}"
        for error in exc.errors()
    ]
    return BadInput(f"invalid setting {'; '.join(lines)}")


def _named(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
