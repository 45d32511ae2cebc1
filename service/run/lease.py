"""The lease a process holds on the run it executes: a Redis key with an expiry, renewed by a
heartbeat. A run whose lease expired has lost its process (`interrupted`); a run whose lease
is live belongs to someone, so it is neither resumed nor deleted under them. The Redis
commands are the store's (service/provenance/leases.py); this is the heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from types import TracebackType

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.errors import LeaseHeld, RunCancelled
from service.provenance.leases import (
    LeaseKeys,
    release_lease,
    renew_lease,
    run_lease_keys,
    take_lease,
)


def holder_name() -> str:
    """Who holds a lease: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """Held while a run executes (`async with`): taken with SET NX, renewed every third of
    `seconds` (re-taken after a Redis restart lost it), released at the end. When someone
    asks the run to stop, or the lease is lost, the task that entered the lease is cancelled
    and the block ends with RunCancelled; asked to stop, it keeps renewing the lease until
    released, so a run (or study) winding down never reads `interrupted` meanwhile."""

    def __init__(
        self, redis: Redis, run_id: str, seconds: float, *, leased: LeaseKeys | None = None
    ) -> None:
        """`leased`: the lease's keys (default: the run's); a study passes its own."""
        self.redis = redis
        self.run_id = run_id
        self.leased = leased or run_lease_keys(run_id)
        self.millis = max(1, round(seconds * 1000))
        self.holder = holder_name()
        self._heartbeat: asyncio.Task[None] | None = None
        self._stop_reason: str | None = None
        self._released = False

    async def __aenter__(self) -> Lease:
        await self.take()
        owner = asyncio.current_task()
        assert owner is not None, "a lease is entered from a task"
        self.hold(owner)
        return self

    async def take(self) -> None:
        """Take the lease (SET NX), or LeaseHeld when another process holds it."""
        who = await take_lease(self.redis, self.leased, self.holder, self.millis)
        if who is not None:
            raise LeaseHeld(
                f"run {self.run_id!r} is being run by {who}; wait for it to end, or "
                f"`driftlab delete --force {self.run_id}` to cancel it"
            )

    def hold(self, owner: asyncio.Task[object]) -> None:
        """Renew the taken lease until released; cancel `owner` when asked to stop or lost."""
        self._heartbeat = asyncio.create_task(self._beat(owner))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()
        if self._stop_reason is not None and exc_type is asyncio.CancelledError:
            owner = asyncio.current_task()
            if owner is not None:
                owner.uncancel()
            raise RunCancelled(self._stop_reason)

    async def release(self) -> None:
        """Stop the heartbeat and give the lease up (if still ours)."""
        self._released = True  # ends the heartbeat should a Redis timeout swallow its cancel
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        await release_lease(self.redis, self.leased, self.holder)

    async def _beat(self, owner: asyncio.Task[object]) -> None:
        while not self._released:
            await asyncio.sleep(self.millis / 3000)
            try:
                state = await renew_lease(self.redis, self.leased, self.holder, self.millis)
            except RedisError:
                continue  # the client reconnects with backoff; the run's own writes wait too
            if state == 0 or (state == 1 and self._stop_reason is not None):
                continue  # renewed; an owner asked to stop keeps its lease until it has
            self._stop_reason = (
                f"run {self.run_id!r} was cancelled by `driftlab delete --force`"
                if state == 1
                else f"run {self.run_id!r} lost its lease (deleted, or taken by another process)"
            )
            owner.cancel()
            if state == -1:
                return


def stop_if_asked() -> None:
    """Raise the cancellation this task was asked for, should an await on the way have
    swallowed it (a library's suppressed or shielded wait): a stop is never lost, at worst
    delayed to the end of the round it arrived in."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
