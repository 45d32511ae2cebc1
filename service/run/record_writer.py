"""Writing a round's message records: serialised as they come, stored in pipelined chunks."""

from __future__ import annotations

from service.provenance.message import record_json
from service.provenance.store import WRITE_CHUNK, ProvenanceStore
from service.run.step import Emitted, Settled


class RecordWriter:
    """Serialises messages as they come and writes them in pipelined chunks, so a round never
    holds all its full records at once. `flush` before delivering: store first, then deliver.
    The engine and every step worker write through one."""

    def __init__(self, store: ProvenanceStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._pending: list[tuple[str, bytes]] = []

    async def add(self, emitted: Emitted) -> Settled:
        settled = self.keep(emitted)
        if len(self._pending) >= WRITE_CHUNK:
            await self.flush()
        return settled

    def keep(self, emitted: Emitted) -> Settled:
        """Serialise the record for the next flush (the caller flushes at least every
        WRITE_CHUNK records)."""
        message = emitted.message
        self._pending.append((message.id, record_json(message)))
        return Settled.of(emitted)

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            await self.store.write_messages(self.run_id, batch)
