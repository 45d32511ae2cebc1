"""Agent steps in worker processes: the same step function, one process per core.

Each worker holds the experiment (without its graph), its own backends, its own Redis
connection and a long-lived event loop. The engine hands it slices of a round's agents with
their inboxes; the worker runs their steps (up to its share of the concurrency limit at once),
stores their records and returns what delivery needs. The engine delivers only once every
slice is back, so every message is stored before anyone reads it. Every draw is derived from
(seed, replicate, round, node), so messages are identical whatever the number of workers.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import dataclasses
import math
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import networkx as nx
from redis.asyncio import ConnectionPool, Redis

from agents.completion import run_to_completion
from agents.pool import BackendPool
from service.errors import WorkerFailed
from service.experiment.experiment import Experiment
from service.provenance.store import ProvenanceStore
from service.run.binding import bind_agents
from service.run.step import RunContext
from service.run.step_batch import Outcome, StepInput, one_or_group, run_steps_stored

PR_SET_PDEATHSIG = 1  # linux/prctl.h
SLICE = 500  # agents per hand-off: small enough to stream records, large enough to amortise
# fork shares the experiment copy-on-write and needs no `if __name__ == "__main__"` guard in
# the user's script; spawn where fork does not exist.
START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


class StepPool:
    """`workers` processes running agent steps for one run."""

    def __init__(
        self,
        experiment: Experiment,
        successors: dict[str, list[str]],
        store: ProvenanceStore,
        run_id: str,
        replicate: int,
        workers: int,
    ) -> None:
        share = math.ceil(experiment.spec.concurrency / workers)
        portable = dataclasses.replace(experiment, graph=nx.DiGraph())
        connection = store.redis.connection_pool
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(START_METHOD),
            initializer=_start_worker,
            initargs=(
                os.getpid(),
                portable,
                successors,
                (connection.connection_class, connection.connection_kwargs),
                run_id,
                replicate,
                share,
            ),
        )

    async def run(
        self, round_: int, inputs: Sequence[StepInput], human_ids: list[str]
    ) -> AsyncIterator[Outcome]:
        """(index into `inputs`, outcome) for every step, slice by slice as workers finish;
        a slice's records are stored before its outcomes arrive. A failed slice does not stop
        the others: every failure is raised once all are back."""
        loop = asyncio.get_running_loop()
        known = tuple(human_ids)
        pending = [
            loop.run_in_executor(
                self._executor,
                _run_slice,
                round_,
                start,
                list(inputs[start : start + SLICE]),
                known,
            )
            for start in range(0, len(inputs), SLICE)
        ]
        failures: list[BaseException] = []
        try:
            for finished in asyncio.as_completed(pending):
                try:
                    outcomes = await finished
                except BrokenProcessPool as exc:
                    raise WorkerFailed(
                        f"a step worker process died in round {round_} ({exc}); the run is "
                        "marked failed, and the messages stored so far are kept"
                    ) from exc
                except Exception as exc:
                    failures.append(exc)
                    continue
                for index, outcome in outcomes:
                    yield index, outcome
        finally:
            for future in pending:
                future.cancel()
        if failures:
            raise one_or_group(failures)

    async def aclose(self) -> None:
        """Wait for the workers to finish (in a thread: the event loop keeps running)."""
        await run_to_completion(asyncio.to_thread(self._executor.shutdown, wait=True))

    def terminate(self) -> None:
        """Stop every worker now (SIGTERM), whatever it is doing."""
        for process in list(self._executor._processes.values()):  # no public way before 3.14
            process.terminate()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> StepPool:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.terminate()
        await self.aclose()


@dataclasses.dataclass
class _Worker:
    ctx: RunContext
    backends: BackendPool
    store: ProvenanceStore
    loop: asyncio.AbstractEventLoop
    concurrency: int


_worker: _Worker | None = None


def _start_worker(
    parent_pid: int,
    experiment: Experiment,
    successors: dict[str, list[str]],
    redis_connection: tuple[type, dict[str, Any]],
    run_id: str,
    replicate: int,
    concurrency: int,
) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # terminate() ends a worker at once
    signal.set_wakeup_fd(-1)  # a forked copy of the engine's: signals here are not the engine's
    _die_with_parent(parent_pid)
    connection_class, connection_kwargs = redis_connection
    redis = Redis(
        connection_pool=ConnectionPool(connection_class=connection_class, **connection_kwargs)
    )
    backends = BackendPool()
    agents, backend_of = bind_agents(experiment, backends)
    ctx = RunContext(run_id, replicate, experiment, agents, backend_of, successors, [])
    _worker = _Worker(ctx, backends, ProvenanceStore(redis), asyncio.new_event_loop(), concurrency)
    atexit.register(_stop_worker)


def _die_with_parent(parent_pid: int) -> None:
    """On Linux, the kernel kills this worker when the engine's process dies, however it dies
    (SIGKILL included); elsewhere, workers end when the engine closes the pool."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _stop_worker() -> None:
    if _worker is not None:
        _worker.loop.run_until_complete(_worker.backends.aclose())
        _worker.loop.run_until_complete(_worker.store.redis.aclose())
        _worker.loop.close()


def _run_slice(
    round_: int, start: int, inputs: list[StepInput], human_ids: tuple[str, ...]
) -> list[Outcome]:
    assert _worker is not None, "the step pool's initializer did not run"
    _worker.ctx.human_ids[:] = human_ids
    return _worker.loop.run_until_complete(
        run_steps_stored(_worker.ctx, _worker.store, round_, inputs, _worker.concurrency, start)
    )
