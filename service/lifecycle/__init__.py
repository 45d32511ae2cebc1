"""A run's lifecycle, the one home faces (CLI, HTTP API, worker) and studies call: mint an
id, start, resume, cancel, delete, liveness, list; the status machine is
queued -> running -> exporting -> succeeded (or failed, cancelled, budget_exceeded;
`interrupted` when the process holding a live run's lease is gone)."""

from service.lifecycle.control import LocalRuns, RunControl
from service.lifecycle.ids import NewRun, new_run
from service.lifecycle.running import RunHooks, RunOutcome, resume_run, run_spec, start_run
from service.provenance.workers import live_workers
from service.run.lease import Lease, holder_name
from service.run.report import RoundReport, RunResult
from service.run.step_worker import StepWorker, WorkerOptions
from service.status import RunStatus

__all__ = [
    "Lease",
    "LocalRuns",
    "NewRun",
    "RoundReport",
    "RunControl",
    "RunHooks",
    "RunOutcome",
    "RunResult",
    "RunStatus",
    "StepWorker",
    "WorkerOptions",
    "holder_name",
    "live_workers",
    "new_run",
    "resume_run",
    "run_spec",
    "start_run",
]
