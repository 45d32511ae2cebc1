"""Leases in Redis: a key naming the process that runs a run (or a study), with an expiry
its heartbeat renews, and a cancel key asking that process to stop. The heartbeat itself
lives with the engine (service/run/lease.py); this is every Redis command it needs."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from redis.asyncio import Redis

from service.errors import LeaseHeld
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


class LeaseKeys(NamedTuple):
    """The keys of one lease: the lease itself, its cancel request and the leased record
    (a lease is renewed only while its record exists)."""

    lease: str
    cancel: str
    record: str


def run_lease_keys(run_id: str) -> LeaseKeys:
    return LeaseKeys(keys.lease(run_id), keys.cancel(run_id), keys.run(run_id))


def study_lease_keys(study_id: str) -> LeaseKeys:
    return LeaseKeys(keys.study_lease(study_id), keys.study_cancel(study_id), keys.study(study_id))


async def take_lease(redis: Redis, leased: LeaseKeys, holder: str, millis: int) -> str | None:
    """Take the lease for `holder` (SET NX) and clear an old cancel request: None when
    taken, else who holds it."""
    if await redis.set(leased.lease, holder, nx=True, px=millis):
        await redis.delete(leased.cancel)
        return None
    current = await redis.get(leased.lease)
    return as_text(current) if current else "another process"


async def renew_lease(redis: Redis, leased: LeaseKeys, holder: str, millis: int) -> int:
    """Renew `holder`'s lease (re-taken when a Redis restart lost it): 1 renewed and asked
    to cancel, 0 renewed, -1 lost."""
    state = await redis.eval(RENEW, 3, leased.lease, leased.cancel, leased.record, holder, millis)
    return int(state)


async def release_lease(redis: Redis, leased: LeaseKeys, holder: str) -> None:
    """Give the lease (and its cancel request) up if `holder` still holds it."""
    await redis.eval(RELEASE, 2, leased.lease, leased.cancel, holder)


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
    await request_stop(redis, run_lease_keys(run_id), seconds, f"run {run_id!r}")


async def request_stop(redis: Redis, leased: LeaseKeys, seconds: float, what: str) -> None:
    """Ask the holder of a lease (a run's or a study's) to stop, and wait until it released
    it (or it expired)."""
    await redis.set(leased.cancel, "1", px=max(1, round(seconds * 2000)))
    deadline = asyncio.get_running_loop().time() + seconds * 2
    while await redis.exists(leased.lease):
        if asyncio.get_running_loop().time() > deadline:
            raise LeaseHeld(f"{what} did not stop within {seconds * 2:g} s")
        await asyncio.sleep(0.1)
