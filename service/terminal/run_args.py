"""Run ids on the command line: `args.run` (and `analyze`'s target when it is no file)
resolved to the stored id before the command runs: a unique prefix, `latest`, `latest~N`."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console

from service.provenance.redis_conn import open_redis
from service.provenance.run_lookup import resolve_run_id

Command = Callable[[argparse.Namespace], Awaitable[int]]


def _typed_run(args: argparse.Namespace) -> tuple[str, str] | None:
    """(attribute, text) of the run id the user typed, if the command takes one."""
    if isinstance(getattr(args, "run", None), str):
        return "run", args.run
    if args.command == "analyze" and not Path(args.target).exists():
        return "target", args.target
    return None


async def with_run_ids_resolved(args: argparse.Namespace, command: Command) -> int:
    """Run `command` with the typed run id replaced by the stored run's full id."""
    typed = _typed_run(args)
    if typed is not None:
        attribute, text = typed
        err = Console(stderr=True, highlight=False)
        connection = await open_redis(args.settings, announce=lambda t: err.print(t, style="dim"))
        try:
            setattr(args, attribute, await resolve_run_id(connection.client, text))
        finally:
            await connection.aclose()
    return await command(args)
