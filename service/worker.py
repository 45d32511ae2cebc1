"""`driftlab worker`: serves agent steps of distributed runs from Redis, on any machine, until
SIGTERM or Ctrl-C (then it finishes the steps in hand)."""

from __future__ import annotations

import asyncio
import signal

from redis.asyncio import Redis

from service.experiment.settings import Settings
from service.lifecycle import StepWorker, WorkerOptions


def preload_backends() -> None:
    """Import the OpenAI client now (about a second of CPU), so a worker's first steps do not
    wait for it; the other backends import in milliseconds."""
    import agents.openai_chat  # noqa: F401


async def run_worker(redis: Redis, settings: Settings, options: WorkerOptions) -> StepWorker:
    """Serve until SIGTERM or SIGINT; returns the worker (for its counts)."""
    worker = StepWorker(redis, settings, options)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    try:
        await worker.serve()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return worker
