"""The lease a process holds on the run it executes: a Redis key with an expiry, renewed by a
heartbeat. A run whose lease expired has lost its process (`interrupted`); a run whose lease
is live belongs to someone, so it is neither resumed nor deleted under them."""

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
from service.provenance import keys
from service.provenance.store import as_text

RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or (not holder and redis.call('EXISTS', KEYS[3]) == 1) then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return redis.call('EXISTS', KEYS[2])
end
return -1
"""  # 1: renewed and asked to cancel; 0: renewed; -1: lost (another holder, or run deleted)
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1], KEYS[2])
end
"""


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
        self,
        redis: Redis,
        run_id: str,
        seconds: float,
        *,
        keys_of: tuple[str, str, str] | None = None,
    ) -> None:
        """`keys_of`: the lease, cancel and record keys (default: the run's); a study passes
        its own."""
        self.redis = redis
        self.run_id = run_id
        self.lease_key, self.cancel_key, self.record_key = keys_of or (
            keys.lease(run_id),
            keys.cancel(run_id),
            keys.run(run_id),
        )
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
        taken = await self.redis.set(self.lease_key, self.holder, nx=True, px=self.millis)
        if not taken:
            holder = await self.redis.get(self.lease_key)
            who = as_text(holder) if holder else "another process"
            raise LeaseHeld(
                f"run {self.run_id!r} is being run by {who}; wait for it to end, or "
                f"`driftlab delete --force {self.run_id}` to cancel it"
            )
        await self.redis.delete(self.cancel_key)

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
        await self.redis.eval(RELEASE, 2, self.lease_key, self.cancel_key, self.holder)

    async def _beat(self, owner: asyncio.Task[object]) -> None:
        while not self._released:
            await asyncio.sleep(self.millis / 3000)
            try:
                state = await self.redis.eval(
                    RENEW,
                    3,
                    self.lease_key,
                    self.cancel_key,
                    self.record_key,
                    self.holder,
                    self.millis,
                )
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


async def cancel_requested(redis: Redis, run_id: str) -> bool:
    """Whether someone asked the run to stop through Redis (`delete --force`, an HTTP
    cancel), rather than by a signal to its process."""
    return bool(await redis.exists(keys.cancel(run_id)))


async def live_holder(redis: Redis, run_id: str) -> str | None:
    """Who holds the run's lease now, or None when nobody does."""
    holder = await redis.get(keys.lease(run_id))
    return None if holder is None else as_text(holder)


async def request_cancel(redis: Redis, run_id: str, seconds: float) -> None:
    """Ask the process holding the run's lease to stop, and wait until it released it (or
    its lease expired)."""
    await request_stop(redis, (keys.lease(run_id), keys.cancel(run_id)), seconds, f"run {run_id!r}")


async def request_stop(
    redis: Redis, lease_keys: tuple[str, str], seconds: float, what: str
) -> None:
    """Ask the holder of a lease (`lease_keys`: its lease and cancel keys, a run's or a
    study's) to stop, and wait until it released it (or it expired)."""
    lease_key, cancel_key = lease_keys
    await redis.set(cancel_key, "1", px=max(1, round(seconds * 2000)))
    deadline = asyncio.get_running_loop().time() + seconds * 2
    while await redis.exists(lease_key):
        if asyncio.get_running_loop().time() > deadline:
            raise LeaseHeld(f"{what} did not stop within {seconds * 2:g} s")
        await asyncio.sleep(0.1)


def stop_if_asked() -> None:
    """Raise the cancellation this task was asked for, should an await on the way have
    swallowed it (a library's suppressed or shielded wait): a stop is never lost, at worst
    delayed to the end of the round it arrived in."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
