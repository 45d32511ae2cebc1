"""`driftlab dashboard`: serves the page on loopback when nothing does, finds a driftlab
server already there, and refuses a port another server holds."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.conftest import cli_process, cli_result, free_port


async def _page(url: str) -> str:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as response:
                    return await response.text()
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


async def test_dashboard_serves_the_page_and_a_second_call_finds_it(redis, tmp_path: Path):
    """The first `dashboard` serves `/`; a second one sees it there, says so and exits 0."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    first = await cli_process("dashboard", "--no-browser", "--port", str(port), cwd=tmp_path)
    try:
        assert "<title>driftlab dashboard</title>" in await _page(url)
        second = await cli_process("dashboard", "--no-browser", "--port", str(port), cwd=tmp_path)
        code, out, err = await cli_result(second, 30)
        assert code == 0, err
        assert f"already answers at {url}" in out + err
    finally:
        first.send_signal(signal.SIGINT)
        code, out, err = await cli_result(first, 30)
    assert f"the dashboard: {url}" in out + err


async def test_dashboard_refuses_a_port_another_server_holds(aiohttp_server, tmp_path: Path):
    """A port where something else answers is one clear error, exit 2."""
    other = await aiohttp_server(web.Application())
    process = await cli_process(
        "dashboard", "--no-browser", "--port", str(other.port), cwd=tmp_path
    )
    code, _, err = await cli_result(process, 30)
    assert code == 2
    assert "something other than driftlab answers" in err and "Traceback" not in err
