"""`driftlab serve`: run the API on a host and port until cancelled."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

from aiohttp import web

from service.api.app import create_app
from service.api.settings import ApiSettings
from service.errors import BadInput
from service.redaction import redact_logs

LOOPBACK_NAMES = ("localhost",)


def check_bind(host: str, settings: ApiSettings) -> None:
    """Refuse (BadInput) a non-loopback host when no DRIFTLAB_API_TOKEN is set."""
    if settings.api_token is not None or _is_loopback(host):
        return
    raise BadInput(
        f"refusing to serve on {host!r} without a token: set DRIFTLAB_API_TOKEN, "
        "or bind a loopback address such as 127.0.0.1"
    )


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(
    settings: ApiSettings, host: str, port: int, announce: Callable[[str], None] = print
) -> None:
    """Serve until cancelled (Ctrl-C, SIGTERM); runs in progress end `cancelled`."""
    check_bind(host, settings)
    redact_logs()
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        announce(f"serving the driftlab API on http://{host}:{port}/v1")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
