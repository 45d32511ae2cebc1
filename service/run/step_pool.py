"""Agent steps in worker processes: the same step function, one process per core.

Each worker holds the experiment (without its graph), its own backends, its own Redis
connection and a long-lived event loop. The engine hands it slices of a round's agents with
their inboxes; the worker runs their steps (up to its share of the concurrency limit at
once; the shares sum to the limit), stores their records and returns what delivery needs.
The engine delivers only once every slice is back, so every message is stored before anyone
reads it. Every draw is derived from (seed, replicate, round, node), so messages are
identical whatever the number of workers.
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
from service.run.binding import RunScope, bound_context
from service.run.step import RunContext
from service.run.step_batch import Outcome, StepInput, one_or_group, run_steps_stored
from service.run.wire import decode_outcomes, decode_steps, encode_outcomes, encode_steps

PR_SET_PDEATHSIG = 1  # linux/prctl.h
MAX_SLICE = 500  # agents per hand-off at most: small enough to stream records
STOP_S = 5.0  # seconds a stopped pool waits for its workers before killing them
SLICES_PER_WORKER = 4  # a round is cut finer than one slice per worker, to keep all busy
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
        concurrency = experiment.spec.concurrency
        self.workers = min(workers, concurrency)  # every worker gets one call at least
        self._largest_share = math.ceil(concurrency / self.workers)
        portable = dataclasses.replace(experiment, graph=nx.DiGraph())
        connection = store.redis.connection_pool
        context = multiprocessing.get_context(START_METHOD)
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(
                os.getpid(),
                portable,
                successors,
                (connection.connection_class, connection.connection_kwargs),
                run_id,
                replicate,
                _Shares(concurrency, self.workers, context.Value("i", 0)),
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
        size = self.slice_size(len(inputs))
        pending = [
            loop.run_in_executor(
                self._executor,
                _run_slice,
                round_,
                start,
                encode_steps(inputs[start : start + size]),
                known,
            )
            for start in range(0, len(inputs), size)
        ]
        failures: list[BaseException] = []
        try:
            for finished in asyncio.as_completed(pending):
                try:
                    outcomes = decode_outcomes(await finished)
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

    def slice_size(self, steps: int) -> int:
        """Agents per hand-off: a round is cut into several slices per worker so that every
        worker stays busy; no larger than MAX_SLICE unless a worker's share of the concurrency
        limit is larger (a smaller slice could not use it)."""
        even = math.ceil(steps / (self.workers * SLICES_PER_WORKER))
        return max(self._largest_share, min(MAX_SLICE, even))

    async def aclose(self) -> None:
        """Wait for the workers to finish (in a thread: the event loop keeps running)."""
        await run_to_completion(asyncio.to_thread(self._executor.shutdown, wait=True))

    def terminate(self) -> list[multiprocessing.process.BaseProcess]:
        """Stop every worker now (SIGTERM), whatever it is doing; returns them."""
        running = self._executor._processes or {}  # no public way before 3.14
        processes: list[multiprocessing.process.BaseProcess] = list(running.values())
        for process in processes:
            process.terminate()
        self._executor.shutdown(wait=False, cancel_futures=True)
        return processes

    async def stop(self) -> None:
        """Terminate the workers and wait for the pool to close, at most STOP_S seconds:
        then kill whatever is left and stop waiting (the executor's own thread can stall
        on a future cancelled under it)."""
        processes = self.terminate()
        closing = asyncio.ensure_future(asyncio.to_thread(self._executor.shutdown, wait=True))
        await run_to_completion(asyncio.wait({closing}, timeout=STOP_S))
        for process in processes:
            if process.is_alive():
                process.kill()

    async def __aenter__(self) -> StepPool:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            await self.stop()
        else:
            await self.aclose()


@dataclasses.dataclass
class _Shares:
    """Splits the concurrency limit between the workers: they take their numbers from a
    shared counter as they start, and their shares sum to the limit exactly (a worker runs
    one slice at a time, so calls in flight never exceed it)."""

    limit: int
    workers: int
    taken: Any  # multiprocessing.Value("i"): how many workers took their share so far

    def take(self) -> int:
        with self.taken.get_lock():
            number = self.taken.value
            self.taken.value += 1
        return self.limit // self.workers + (1 if number < self.limit % self.workers else 0)


@dataclasses.dataclass
class _Worker:
    ctx: RunContext
    backends: BackendPool
    store: ProvenanceStore
    loop: asyncio.AbstractEventLoop
    concurrency: int  # this worker's share of the limit


_worker: _Worker | None = None


def _start_worker(
    parent_pid: int,
    experiment: Experiment,
    successors: dict[str, list[str]],
    redis_connection: tuple[type, dict[str, Any]],
    run_id: str,
    replicate: int,
    shares: _Shares,
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
    ctx = bound_context(experiment, backends, RunScope(redis, run_id), replicate, successors)
    store = ProvenanceStore(redis)
    _worker = _Worker(ctx, backends, store, asyncio.new_event_loop(), shares.take())
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


def _run_slice(round_: int, start: int, inputs: bytes, human_ids: tuple[str, ...]) -> bytes:
    """Run a slice of steps (wire format) in this worker; their outcomes, in wire format."""
    assert _worker is not None, "the step pool's initializer did not run"
    _worker.ctx.human_ids[:] = human_ids
    steps = decode_steps(inputs)
    outcomes = _worker.loop.run_until_complete(
        run_steps_stored(_worker.ctx, _worker.store, round_, steps, _worker.concurrency, start)
    )
    return encode_outcomes(outcomes)
