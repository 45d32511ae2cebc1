"""Where the command line writes (stdout for results, stderr for progress and notices), and
what most commands share: a writable output directory and a store for the command's span."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console

from service.errors import BadInput
from service.experiment.settings import Settings
from service.provenance.redis_conn import RedisConnection, open_redis
from service.provenance.store import ProvenanceStore

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


async def with_store(
    settings: Settings, action: Callable[[ProvenanceStore], Awaitable[int]]
) -> int:
    connection: RedisConnection = await open_redis(settings, announce=notice)
    try:
        store = ProvenanceStore(connection.client, events_maxlen=settings.events_maxlen)
        return await action(store)
    finally:
        await connection.aclose()


def notice(text: str) -> None:
    err.print(f"[dim]{text}[/]", markup=True, highlight=False)


def writable_dir(path: Path) -> Path:
    """`path` if it is, or can become, a directory we may write in; BadInput if not."""
    try:
        existing = next(p for p in (path, *path.parents) if p.exists())
        usable = existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot use --out {str(path)!r}: {exc}") from None
    if not usable:
        raise BadInput(
            f"cannot write the run's files under {str(path)!r}: {existing} is not a "
            "directory this user may write in"
        )
    return path
