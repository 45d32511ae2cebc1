"""Commands that serve: the HTTP API, a worker of distributed runs, and the doctor."""

from __future__ import annotations

import argparse
import dataclasses
import json

from pydantic import ValidationError
from rich.table import Table

from service.cli.console import err, notice, out, with_store
from service.cli.display import EXIT_FAILED, EXIT_OK
from service.cli.failures import settings_error
from service.provenance.store import ProvenanceStore


async def worker(args: argparse.Namespace) -> int:
    from service.lifecycle import WorkerOptions
    from service.worker import preload_backends, run_worker

    options = WorkerOptions(
        concurrency=args.concurrency,
        redelivery_s=args.redelivery,
        max_deliveries=args.max_deliveries,
    )

    async def go(store: ProvenanceStore) -> int:
        preload_backends()
        err.print(
            f"worker: up to {options.concurrency} steps at once; Ctrl-C or SIGTERM stops it "
            "after the steps in hand",
            markup=False,
        )
        served = await run_worker(store.redis, args.settings, options)
        out.print(f"worker {served.name} stopped after {served.steps_done} steps", markup=False)
        return EXIT_OK

    return await with_store(args.settings, go)


async def serve(args: argparse.Namespace) -> int:
    from service.api.serve import serve as serve_api
    from service.api.settings import ApiSettings

    try:
        settings = ApiSettings()
    except ValidationError as exc:
        raise settings_error(exc) from exc
    await serve_api(settings, args.host, args.port, announce=notice)
    return EXIT_OK


async def dashboard(args: argparse.Namespace) -> int:
    from service.api.settings import ApiSettings
    from service.dashboard_open import open_dashboard

    try:
        settings = ApiSettings()
    except ValidationError as exc:
        raise settings_error(exc) from exc
    await open_dashboard(settings, args.port, browser=not args.no_browser, announce=notice)
    return EXIT_OK


async def doctor(args: argparse.Namespace) -> int:
    from service.doctor import Verdict, diagnose

    findings = await diagnose(args.settings)
    if args.json:
        for finding in findings:
            out.print(json.dumps(dataclasses.asdict(finding)), markup=False, soft_wrap=True)
    else:
        table = Table(title="driftlab doctor")
        for column in ("check", "verdict", "detail"):
            table.add_column(column)
        for finding in findings:
            table.add_row(finding.check, finding.verdict.value, finding.detail)
        out.print(table)
    failed = any(f.verdict is Verdict.FAILED for f in findings)
    return EXIT_FAILED if failed else EXIT_OK
