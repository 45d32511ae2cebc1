"""Run status: one enum for the whole project."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    EXPORTING = "exporting"  # the last round is done; judge, drift views and exports follow
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BUDGET_EXCEEDED = "budget_exceeded"
    INTERRUPTED = "interrupted"  # shown for a `running` run whose lease expired

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.EXPORTING)

    @property
    def leased(self) -> bool:
        """Whether a process holds the run's lease in this status (without one, the run
        is `interrupted`)."""
        return self in (RunStatus.RUNNING, RunStatus.EXPORTING)

    @property
    def resumable(self) -> bool:
        return self in (RunStatus.INTERRUPTED, RunStatus.CANCELLED)
