"""Work that must finish even when its awaiter is cancelled (agents.completion)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from agents.completion import run_to_completion


async def test_a_cancelled_awaiter_waits_for_its_thread_then_is_cancelled():
    """The lock a local backend holds around its llama.cpp call is released only once the
    thread has finished, even when the call is cancelled."""
    lock = asyncio.Lock()
    release = threading.Event()
    finished: list[float] = []

    def blocking_call() -> None:
        release.wait(5)
        finished.append(time.monotonic())

    async def call() -> None:
        async with lock:
            await run_to_completion(asyncio.to_thread(blocking_call))

    task = asyncio.create_task(call())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.sleep(0.1)
    assert lock.locked() and not task.done()
    asyncio.get_running_loop().call_later(0.1, release.set)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished and not lock.locked()


async def test_the_result_and_errors_pass_through():
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def broken() -> None:
        raise ValueError("no")

    assert await run_to_completion(answer()) == 42
    with pytest.raises(ValueError, match="no"):
        await run_to_completion(broken())
