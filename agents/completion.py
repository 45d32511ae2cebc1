"""Awaiting work that must finish even when the awaiting task is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def run_to_completion(work: Awaitable[T]) -> T:
    """Await `work` to its end. A cancellation that arrives meanwhile does not stop it: it is
    re-raised once `work` has finished (a thread keeps running however its awaiter is
    cancelled; a final status write must happen however the run ends)."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            cancelled = True
    result = task.result()
    if cancelled:
        raise asyncio.CancelledError
    return result
