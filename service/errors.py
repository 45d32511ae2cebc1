"""The service's errors: small, flat, each carrying what a user needs to fix the problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec: where (a dotted field path) and what."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class SpecError(ValueError):
    """A spec that cannot run; lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class BadInput(ValueError):
    """A command-line value or a setting the user must change (the CLI exits with code 2)."""


class RunNotFound(KeyError):
    """No stored run has this id."""

    def __str__(self) -> str:
        return f"no run {self.args[0]!r} in the store"


class RunActive(RuntimeError):
    """A process holds the run's lease: it is still going."""

    def __str__(self) -> str:
        return (
            f"run {self.args[0]!r} is still running (a process holds its lease); wait for it "
            f"to end, or `driftlab delete --force {self.args[0]}` to cancel it first"
        )


class MessageNotFound(KeyError):
    """No stored message has this id."""

    def __str__(self) -> str:
        return f"no message {self.args[0]!r} in run {self.args[1]!r}"


class WorkerFailed(RuntimeError):
    """A step worker process died (killed, out of memory); the run fails."""


class RunExists(ValueError):
    """A run with this id is already stored (or being created by another process)."""

    def __str__(self) -> str:
        run_id = self.args[0]
        return (
            f"run {run_id!r} already exists; `driftlab delete {run_id}` first "
            "or choose another --run-id"
        )


class StudyIncomplete(RuntimeError):
    """Some runs of a study failed; the others are stored, and a new start retries these."""

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


class RunFailed(RuntimeError):
    """A run stopped by its own rules (too many failed steps, `on_error: fail`)."""
