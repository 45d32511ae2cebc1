"""Every log record written while a run executes carries the run's id as `record.run_id`
(None outside a run): a context variable set for the run, read by the log-record factory, so
records of tasks the run starts carry it too."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

CURRENT_RUN: ContextVar[str | None] = ContextVar("driftlab_run_id", default=None)


@contextmanager
def logging_run(run_id: str) -> Iterator[None]:
    """Within the block (and the tasks started in it), log records carry `run_id`."""
    stamp_run_ids()
    token = CURRENT_RUN.set(run_id)
    try:
        yield
    finally:
        CURRENT_RUN.reset(token)


def stamp_run_ids() -> None:
    """Make every new log record carry the current run's id (once per process)."""
    base = logging.getLogRecordFactory()
    if getattr(base, "stamps_run_id", False):
        return

    def record_with_run_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        run_id = CURRENT_RUN.get()
        if run_id is not None:  # a record given `extra={"run_id": ...}` keeps its own
            record.run_id = run_id
        return record

    record_with_run_id.stamps_run_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_run_id)
