"""`driftlab dashboard`: open the dashboard in a browser, serving the API on loopback first
when no driftlab server answers at the address."""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Callable

import aiohttp

from service.api.serve import serve
from service.api.settings import ApiSettings
from service.errors import BadInput

HOST = "127.0.0.1"
STARTUP_S = 30.0


async def open_dashboard(
    settings: ApiSettings, port: int, *, browser: bool, announce: Callable[[str], None]
) -> None:
    """Open http://127.0.0.1:PORT/ (in the browser unless `browser` is False). When nothing
    serves there, serve it here until cancelled (Ctrl-C); BadInput when something other than
    driftlab answers on that port."""
    url = f"http://{HOST}:{port}/"
    if await _driftlab_answers(url):
        announce(f"a driftlab server already answers at {url}")
        _show(url, browser, announce)
        return
    server = asyncio.create_task(serve(settings, HOST, port, announce=announce))
    await _until_answers(url, server)
    _show(url, browser, announce)
    await server


async def _driftlab_answers(url: str) -> bool:
    """Whether driftlab's health route answers at `url` (200, or 503 when its Redis is down);
    BadInput when another server does."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"{url}v1/health") as response,
        ):
            body = await response.json(content_type=None)
            if response.status in (200, 503) and isinstance(body, dict) and "redis" in body:
                return True
    except aiohttp.ClientConnectorError:
        return False
    except (aiohttp.ClientError, ValueError, TimeoutError):
        pass
    raise BadInput(f"something other than driftlab answers at {url}: choose another --port")


async def _until_answers(url: str, server: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_S
    while loop.time() < deadline:
        if server.done():
            await server  # its error (a port in use, Redis unreachable) says why
            return
        if await _driftlab_answers(url):
            return
        await asyncio.sleep(0.1)
    server.cancel()
    raise BadInput(f"the dashboard server did not answer at {url} within {STARTUP_S:.0f} s")


def _show(url: str, browser: bool, announce: Callable[[str], None]) -> None:
    if browser and webbrowser.open(url):
        announce(f"opened the dashboard at {url}")
    else:
        announce(f"the dashboard: {url}")
