"""Cancel, delete and liveness of stored runs, wherever they run: in this process (a face's
own tasks) or in another one holding the run's lease."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from service.errors import RunActive
from service.provenance.leases import live_holder, request_cancel
from service.provenance.store import ProvenanceStore


class LocalRuns(Protocol):
    """Runs this process executes itself (the HTTP server's tasks)."""

    def owns(self, run_id: str) -> bool: ...

    async def stop(self, run_id: str) -> None:
        """Cancel the run and wait until it has stopped."""


@dataclass(frozen=True)
class RunControl:
    """What a face may do to a stored run besides starting it; `local` runs runs of this
    process (the HTTP server's tasks)."""

    store: ProvenanceStore
    lease_s: float
    local: LocalRuns | None = None

    async def is_live(self, run_id: str) -> bool:
        """Whether a process (this one or another) runs it now."""
        if self.local is not None and self.local.owns(run_id):
            return True
        return await live_holder(self.store.redis, run_id) is not None

    async def cancel(self, run_id: str) -> bool:
        """Stop the run and wait until it has (it ends `cancelled`); False when nothing
        runs it."""
        if self.local is not None and self.local.owns(run_id):
            await self.local.stop(run_id)
        elif await live_holder(self.store.redis, run_id) is not None:
            await request_cancel(self.store.redis, run_id, self.lease_s)
        else:
            return False
        return True

    async def delete(self, run_id: str, *, force: bool = False) -> None:
        """Remove every key of the run: RunNotFound for an unknown one, RunActive while it
        is live unless `force` (which cancels it first)."""
        await self.store.get_run(run_id)
        if await self.is_live(run_id):
            if not force:
                raise RunActive(run_id)
            await self.cancel(run_id)
        await self.store.delete_run(run_id)

    async def list_runs(self) -> list[dict[str, Any]]:
        """Every stored run's record, oldest first."""
        return await self.store.list_runs()
