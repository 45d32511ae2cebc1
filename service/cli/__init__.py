"""The driftlab command line: run, dry-run, resume, list, export, delete and analyze runs,
run studies, show lineage, serve the HTTP API, and serve as a worker of distributed runs.

One module per command group; each is imported only when its command runs, so `--help` and
`--version` import neither the HTTP server, the plots nor the embedders."""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
import threading
import traceback
from collections.abc import Awaitable

from service.cli.parser import build_parser

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
CANCELLED_NOTE = "the run is marked cancelled; messages written so far are kept"


def main(argv: list[str] | None = None) -> int:
    """Run one command; any failure ends in one message and its exit code (docs/spec.md)."""
    args = build_parser().parse_args(argv)
    from service.cli.console import err
    from service.cli.failures import describe

    try:
        args.settings = _settings()
        module, name = args.handler.split(":")
        handler = getattr(importlib.import_module(f"service.cli.{module}"), name)
        from service.terminal.run_args import with_run_ids_resolved

        command = with_run_ids_resolved(args, handler)
        return asyncio.run(_stopped_by_sigterm_as_by_ctrl_c(command))
    except KeyboardInterrupt:
        err.print(f"interrupted: {CANCELLED_NOTE}")
        return EXIT_INTERRUPTED
    except _Terminated:
        err.print(f"terminated: {CANCELLED_NOTE}")
        return EXIT_TERMINATED
    except Exception as exc:
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        failure = describe(exc)
        err.print(failure.headline, markup=False, soft_wrap=True)
        for line in failure.details:
            err.print(line, markup=False, soft_wrap=True)
        return failure.code


def _settings() -> object:
    from pydantic import ValidationError

    from service.cli.failures import settings_error
    from service.experiment.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise settings_error(exc) from exc


class _Terminated(Exception):
    """The process received SIGTERM."""


async def _stopped_by_sigterm_as_by_ctrl_c(command: Awaitable[int]) -> int:
    """SIGTERM cancels the command as Ctrl-C does (a run ends `cancelled`). Signals reach
    only the main thread: called from another one (a test), the command runs as is."""
    if threading.current_thread() is not threading.main_thread():
        return await command
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await command
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
