"""Studies started over HTTP, in Redis: each a hash (its record, read with its lease) and an
entry in the index of studies by start time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from service.provenance import keys
from service.provenance.store import Fields, ProvenanceStore, as_text


@dataclass(frozen=True)
class StudyRecords:
    """The study records of one store."""

    store: ProvenanceStore

    async def start(self, study_id: str, record: Fields) -> None:
        """Replace the study's record with `record` and list it as started now."""
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.study(study_id))
            pipe.hset(keys.study(study_id), mapping=record)
            pipe.zadd(keys.STUDIES, {study_id: datetime.now(UTC).timestamp()})
            await pipe.execute()

    async def update(self, study_id: str, fields: Fields) -> None:
        await self.store.redis.hset(keys.study(study_id), mapping=fields)

    async def get(self, study_id: str) -> dict[str, str] | None:
        """The study's record (None when absent); `running` without a live lease reads
        `interrupted`."""
        return await self.store.leased_record(keys.study(study_id), keys.study_lease(study_id))

    async def leased(self, study_id: str) -> bool:
        """Whether a server holds the study's lease (runs it now)."""
        return bool(await self.store.redis.exists(keys.study_lease(study_id)))

    async def delete(self, study_id: str) -> None:
        """Remove the study's record, lease and cancel request, and its index entry."""
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.unlink(
                keys.study(study_id), keys.study_lease(study_id), keys.study_cancel(study_id)
            )
            pipe.zrem(keys.STUDIES, study_id)
            await pipe.execute()

    async def page(self, cursor: int, limit: int) -> tuple[list[str], int]:
        """Study ids newest first from position `cursor`, at most `limit`, and how many
        there are."""
        redis = self.store.redis
        total = await redis.zcard(keys.STUDIES)
        ranked = await redis.zrevrange(keys.STUDIES, cursor, cursor + limit - 1)
        return [as_text(one) for one in cast(list[bytes], ranked)], int(total)
