"""Where a run's files go: the CLI remembers a new run's output directory so that `resume`
writes to the same place unless given another --out."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from service.provenance import keys
from service.provenance.store import as_text


async def remember_out_dir(redis: Redis, run_id: str, out_dir: Path) -> None:
    """Keep `out_dir` (made absolute) for a run about to start; an id already taken keeps
    what it had."""
    await redis.set(keys.out_dir(run_id), str(out_dir.absolute()), nx=True)


async def forget_out_dir(redis: Redis, run_id: str) -> None:
    """Drop what `remember_out_dir` kept, for a run refused before it was stored."""
    await redis.delete(keys.out_dir(run_id))


async def resume_out_dir(redis: Redis, run_id: str, given: Path | None) -> Path:
    """`given`, else the directory the run was first exported to, else runs/RUN_ID."""
    if given is not None:
        return given
    remembered = await redis.get(keys.out_dir(run_id))
    if remembered is None:
        return Path("runs") / run_id
    return Path(as_text(remembered))
