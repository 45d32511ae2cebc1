"""The provenance store: runs, messages with their true and observed tags, lineage, in Redis."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from service.errors import MessageNotFound, RunActive, RunExists, RunNotFound
from service.experiment.settings import EVENTS_MAXLEN
from service.provenance import keys
from service.provenance.message import FailedStep, Message
from service.status import RunStatus
from topologies.roles import natural_key

Fields = dict[FieldT, EncodableT]  # a hash's fields and values, as redis-py takes them
WRITE_CHUNK = 1000
RECORD_HUMANS = """
local have = redis.call('LLEN', KEYS[1])
local start = tonumber(ARGV[1])
for i = 2, #ARGV do
    if start + i - 2 >= have then
        redis.call('RPUSH', KEYS[1], ARGV[i])
    end
end
"""
CACHE_IF_STORED = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('SET', KEYS[2], ARGV[1])
end
"""
LEASED = {status.value for status in RunStatus if status.leased}
EVENTS_PAGE = 500  # events one XREAD returns at most
JSON_FIELDS = (
    "spec",
    "counts",
    "faults",
    "drift",
    "drift_by_round",
    "drift_by_min_generation",
    "drift_by_ancestry",
    "transmission_by_round",
    "transmission",
    "notices",
    "round_seconds",
    "versions",
)

NUMBER_FIELDS = ("replicate", "rounds", "agents")
"""Record fields Redis keeps as text that are whole numbers (the record shows numbers)."""


class ProvenanceStore:
    """Every write is idempotent: ids are deterministic, so a retried step rewrites its record."""

    def __init__(self, redis: Redis, *, events_maxlen: int = EVENTS_MAXLEN) -> None:
        self.redis = redis
        self.events_maxlen = events_maxlen

    # runs -----------------------------------------------------------------
    async def create_run(self, run_id: str, spec: dict[str, Any], **fields: Any) -> None:
        """Claim `run_id` atomically (HSETNX on the run key), then write the record: of two
        creations with one id, exactly one succeeds and the other raises RunExists."""
        key = keys.run(run_id)
        if not await self.redis.hsetnx(key, "id", run_id):
            raise RunExists(run_id)
        now = time.time()
        record: Fields = {
            "spec": json.dumps(spec),
            "status": RunStatus.QUEUED.value,
            "created_at": _iso(now),
            **_encode(fields),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=record)
            pipe.zadd(keys.RUNS, {run_id: now})
            await pipe.execute()

    async def claim_idempotency_key(
        self, key: str, run_id: str, digest: str, ttl_s: int
    ) -> tuple[str, str] | None:
        """Tie `key` to `run_id` and a digest of its request body for `ttl_s` seconds; the
        run id and digest it was tied to before, if it was."""
        claim = json.dumps([run_id, digest])
        if await self.redis.set(keys.idempotency(key), claim, nx=True, ex=ttl_s):
            return None
        earlier = await self.redis.get(keys.idempotency(key))
        if earlier is None:  # it expired meanwhile
            return None
        earlier_id, earlier_digest = json.loads(as_text(earlier))
        return str(earlier_id), str(earlier_digest)

    async def release_idempotency_key(self, key: str) -> None:
        await self.redis.delete(keys.idempotency(key))

    async def update_run(self, run_id: str, status: RunStatus | None = None, **fields: Any) -> None:
        mapping = _encode(fields)
        if status is not None:
            mapping["status"] = status.value
        if mapping:
            await self.redis.hset(keys.run(run_id), mapping=mapping)

    async def clear_error(self, run_id: str) -> None:
        """A resumed run starts without the error of its earlier attempt."""
        await self.redis.hdel(keys.run(run_id), "error")

    async def get_run(self, run_id: str) -> dict[str, Any]:
        """The run record; a `running` run whose lease expired (its process is gone) is
        reported `interrupted`."""
        found = await self.leased_record(keys.run(run_id), keys.lease(run_id))
        if found is None:
            raise RunNotFound(run_id)
        record: dict[str, Any] = found
        for name in JSON_FIELDS:
            if name in record:
                record[name] = json.loads(record[name])
        for name in NUMBER_FIELDS:
            if isinstance(record.get(name), str) and record[name].lstrip("-").isdigit():
                record[name] = int(record[name])
        return record

    async def leased_record(self, key: str, lease_key: str) -> dict[str, str] | None:
        """The hash at `key` (None when absent), read with its lease at `lease_key` in one
        transaction; its `running` status becomes `interrupted` when the lease has expired
        (the process that held it is gone)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.exists(lease_key)
            raw, leased = await pipe.execute()
        if not raw:
            return None
        record = {as_text(k): as_text(v) for k, v in raw.items()}
        if record.get("status") in LEASED and not leased:
            record["status"] = RunStatus.INTERRUPTED.value
        return record

    async def list_runs(self) -> list[dict[str, Any]]:
        ids = [as_text(i) for i in cast(list[bytes], await self.redis.zrange(keys.RUNS, 0, -1))]
        runs = []
        for run_id in ids:
            try:
                runs.append(await self.get_run(run_id))
            except RunNotFound:
                continue
        return runs

    async def run_statuses(self) -> list[RunStatus]:
        """Every run's status as `get_run` reports it, without reading the records."""
        ids = cast(list[bytes], await self.redis.zrange(keys.RUNS, 0, -1))
        async with self.redis.pipeline(transaction=False) as pipe:
            for run_id in map(as_text, ids):
                pipe.hget(keys.run(run_id), "status")
                pipe.exists(keys.lease(run_id))
            answers = await pipe.execute()
        statuses = []
        for raw, leased in zip(answers[::2], answers[1::2], strict=True):
            if raw is None:
                continue
            status = RunStatus(as_text(raw))
            if status.leased and not leased:
                status = RunStatus.INTERRUPTED
            statuses.append(status)
        return statuses

    async def run_exists(self, run_id: str) -> bool:
        return bool(await self.redis.exists(keys.run(run_id)))

    async def delete_run(self, run_id: str) -> None:
        """Remove every key of the run; refused (RunActive) while a process holds its lease."""
        if not await self.redis.exists(keys.run(run_id)):
            raise RunNotFound(run_id)
        if await self.redis.exists(keys.lease(run_id)):
            raise RunActive(run_id)
        rounds = [k async for k in self.redis.scan_iter(match=f"{keys.run(run_id)}:done*")]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.unlink(*keys.all_for_run(run_id), *rounds)
            pipe.zrem(keys.RUNS, run_id)
            await pipe.execute()

    async def topology(self, run_id: str) -> str | None:
        """The run's topology JSON as `cache_topology` kept it, or None."""
        cached = await self.redis.get(keys.topology(run_id))
        return None if cached is None else as_text(cached)

    async def cache_topology(self, run_id: str, text: str) -> None:
        """Keep the run's topology JSON, unless the run was deleted meanwhile (its keys go
        with it, so the cache never outlives the run)."""
        await self.redis.eval(CACHE_IF_STORED, 2, keys.run(run_id), keys.topology(run_id), text)

    # messages -------------------------------------------------------------
    async def write_messages(self, run_id: str, records: Iterable[tuple[str, str | bytes]]) -> int:
        """Store serialised message records (id, JSON as text or UTF-8 bytes), one HSET field
        each, pipelined in chunks. Returns how many."""
        key = keys.messages(run_id)
        written = 0
        chunk: Fields = {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id, payload in records:
                chunk[message_id] = payload
                if len(chunk) == WRITE_CHUNK:
                    pipe.hset(key, mapping=chunk)
                    written += len(chunk)
                    chunk = {}
            if chunk:
                pipe.hset(key, mapping=chunk)
                written += len(chunk)
            await pipe.execute()
        return written

    async def record_humans(self, run_id: str, message_ids: list[str], start: int) -> None:
        """Record human message ids in emission order (their root-set bits) at positions
        `start`, `start + 1`, ...: those already recorded (a resumed run replaying a round,
        a command resent after a reconnect) are not added twice."""
        if message_ids:
            await self.redis.eval(RECORD_HUMANS, 1, keys.humans(run_id), start, *message_ids)

    async def human_ids(self, run_id: str) -> list[str]:
        return [as_text(i) for i in await self.redis.lrange(keys.humans(run_id), 0, -1)]

    async def message_ids(self, run_id: str) -> list[str]:
        return [as_text(i) for i in await self.redis.hkeys(keys.messages(run_id))]

    async def raw_messages(self, run_id: str, message_ids: list[str]) -> list[bytes | None]:
        """Stored records as JSON bytes, in the order asked (None where missing)."""
        if not message_ids:
            return []
        return cast(list[bytes | None], await self.redis.hmget(keys.messages(run_id), message_ids))

    async def record_skips(self, run_id: str, skips: dict[str, str]) -> None:
        if skips:
            fields: Fields = {k: v for k, v in skips.items()}
            await self.redis.hset(keys.skips(run_id), mapping=fields)

    async def skips(self, run_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(keys.skips(run_id))
        return {as_text(k): as_text(v) for k, v in raw.items()}

    async def record_failed_steps(self, run_id: str, failed: list[FailedStep]) -> None:
        if failed:
            await self.redis.hset(
                keys.failed_steps(run_id),
                mapping={f"{f.replicate}:{f.round}:{f.node}": f.model_dump_json() for f in failed},
            )

    async def failed_steps(self, run_id: str) -> list[FailedStep]:
        """The run's failed steps, by replicate, round and node."""
        raw = await self.redis.hvals(keys.failed_steps(run_id))
        steps = [FailedStep.model_validate_json(r) for r in raw]
        return sorted(steps, key=lambda f: (f.replicate, f.round, natural_key(f.node)))

    async def write_embeddings(self, run_id: str, distances: dict[str, dict[str, float]]) -> None:
        await self._write_json_hash(keys.embeddings(run_id), distances)

    async def embeddings(self, run_id: str) -> dict[str, dict[str, float]]:
        return await self._json_hash(keys.embeddings(run_id))

    async def write_judgements(self, run_id: str, verdicts: dict[str, dict[str, Any]]) -> None:
        await self._write_json_hash(keys.judgements(run_id), verdicts)

    async def judgements(self, run_id: str) -> dict[str, dict[str, Any]]:
        return await self._json_hash(keys.judgements(run_id))

    async def _write_json_hash(self, key: str, values: Mapping[str, Any]) -> None:
        """Add `values` to the hash at `key`, each as JSON (nothing for none)."""
        if values:
            await self.redis.hset(key, mapping={k: json.dumps(v) for k, v in values.items()})

    async def _json_hash(self, key: str) -> dict[str, Any]:
        raw = await self.redis.hgetall(key)
        return {as_text(k): json.loads(v) for k, v in raw.items()}

    async def get_message(self, run_id: str, message_id: str) -> Message:
        raw = await self.redis.hget(keys.messages(run_id), message_id)
        if raw is None:
            raise MessageNotFound(message_id, run_id)
        return Message.model_validate_json(raw)

    async def get_messages(self, run_id: str, message_ids: list[str]) -> list[Message | None]:
        if not message_ids:
            return []
        raw = await self.redis.hmget(keys.messages(run_id), message_ids)
        return [Message.model_validate_json(r) if r is not None else None for r in raw]

    async def iter_messages(self, run_id: str, batch: int = 1000) -> AsyncIterator[Message]:
        """Every message of a run, in no particular order."""
        async for _, raw in self.redis.hscan_iter(keys.messages(run_id), count=batch):
            yield Message.model_validate_json(raw)

    async def count_messages(self, run_id: str) -> int:
        return await self.redis.hlen(keys.messages(run_id))

    # events ---------------------------------------------------------------
    async def add_event(self, run_id: str, event: dict[str, Any]) -> str:
        """Append a progress event; its stream id doubles as an SSE event id."""
        entry = await self.redis.xadd(
            keys.events(run_id),
            {"data": json.dumps(event)},
            maxlen=self.events_maxlen,
            approximate=True,
        )
        return as_text(entry)

    async def events(self, run_id: str, after: str = "-") -> list[tuple[str, dict[str, Any]]]:
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self.redis.xrange(keys.events(run_id), min=after),
        )
        return [(as_text(i), json.loads(f[b"data"])) for i, f in entries]

    async def rounds_done(self, record: Mapping[str, Any]) -> int:
        """Rounds the run of `record` (as `get_run` reads it) has finished: a running run's by
        its last event (a round's start or its end), any other's by its round times."""
        if record.get("status") != RunStatus.RUNNING:
            return len(record.get("round_seconds") or [])
        entries = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await self.redis.xrevrange(keys.events(record["id"]), count=1),
        )
        last = json.loads(entries[0][1][b"data"]) if entries else {}
        ended = {"round_started": 0, "round": 1}.get(last.get("type", ""))
        return 0 if ended is None else int(last["round"]) + ended

    async def read_events(
        self, run_id: str, after: str, *, block_ms: int | None = None, count: int = EVENTS_PAGE
    ) -> list[tuple[str, dict[str, Any]]]:
        """Up to `count` events with stream ids after `after` ("0": from the first held);
        with `block_ms`, waits that long for one when there is none yet (XREAD BLOCK)."""
        answer = cast(
            list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None,
            await self.redis.xread({keys.events(run_id): after}, count=count, block=block_ms),
        )
        return [
            (as_text(i), json.loads(f[b"data"])) for _, entries in answer or [] for i, f in entries
        ]

    # lineage --------------------------------------------------------------
    async def ancestors(self, run_id: str, message_id: str) -> dict[str, Message]:
        """The message and every ancestor back to the human roots, by id."""
        found: dict[str, Message] = {}
        frontier = [message_id]
        while frontier:
            batch = [i for i in dict.fromkeys(frontier) if i not in found]
            frontier = []
            for message_id_, message in zip(
                batch, await self.get_messages(run_id, batch), strict=True
            ):
                if message is None:
                    raise MessageNotFound(message_id_, run_id)
                found[message_id_] = message
                frontier.extend(message.parents)
        return found

    async def descendants(self, run_id: str, message_id: str) -> list[str]:
        """Ids of every message that descends from `message_id`, breadth first."""
        if not await self.redis.hexists(keys.messages(run_id), message_id):
            raise MessageNotFound(message_id, run_id)
        children: dict[str, list[str]] = {}
        async for message in self.iter_messages(run_id):
            for parent in message.parents:
                children.setdefault(parent, []).append(message.id)
        seen: dict[str, None] = {}
        queue = deque(sorted(children.get(message_id, [])))
        while queue:
            current = queue.popleft()
            if current in seen:
                continue
            seen[current] = None
            queue.extend(sorted(children.get(current, [])))
        return list(seen)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def as_text(value: bytes | str) -> str:
    """A value Redis returned (bytes, or str on a decoding client) as text."""
    return value.decode() if isinstance(value, bytes) else value


def _encode(fields: dict[str, Any]) -> Fields:
    return {
        k: json.dumps(v) if isinstance(v, dict | list) else v
        for k, v in fields.items()
        if v is not None
    }
