"""API load: clients polling `GET /v1/runs/{id}` back to back and SSE watchers on
`GET /v1/runs/{id}/events` while a synthetic run proceeds in a `driftlab serve` subprocess.

Reports the polls' requests per second (over the time from the clients' start to the run's
end) and latency (p50, p99), the events the watchers received, and the run's slowdown: the
time of its rounds under load over the same run's with no clients, measured in the same
invocation. Each run gets a fresh server process, so neither inherits the other's warm caches;
the clients run in this process, the server and its runs in another. A server without the
events route (404) is reported as such, and only the pollers load it.

    python -m bench.api_load [--quick] [--pollers 100] [--watchers 50] [--agents 1000]
                             [--rounds 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from bench.common import BENCH_REDIS_URL, fresh_redis, mixing_spec
from bench.concurrency import free_port
from service.status import RunStatus

START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 1800.0
LOADED_LIMIT = (60.0, 20.0)  # a run under load may take max(60 s, 20 x its time alone)
ERROR_LINE = re.compile(r"^[\w.]+(?:Error|Exception): .*$", re.MULTILINE)
STREAM_GRACE_S = 5.0  # after the run ends, how long watchers may take to see their stream end
# Half the agents have a human source, so most act every round: about agents x rounds messages.
SIZES = {
    "full": {"agents": 1000, "rounds": 10, "pollers": 100, "watchers": 50, "repeats": 3},
    "quick": {"agents": 60, "rounds": 3, "pollers": 10, "watchers": 5, "repeats": 1},
}


@dataclass
class Server:
    """A `driftlab serve` process on a loopback port, with its own token."""

    process: subprocess.Popen[bytes]
    url: str
    headers: dict[str, str]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-500:]

    def last_error(self) -> str:
        """The last exception line of the server's log, or "none"."""
        found = ERROR_LINE.findall(self.log.read_text(errors="replace"))
        return found[-1] if found else "none"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


async def start_server(directory: Path) -> Server:
    port = free_port()
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "DRIFTLAB_REDIS_URL": BENCH_REDIS_URL,
        "DRIFTLAB_API_TOKEN": token,
        "DRIFTLAB_RUNS_DIR": str(directory / "runs"),
    }
    log = directory / f"serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{server.url}/v1/health") as response:
                    if response.status == 200:
                        return server
            await asyncio.sleep(0.1)
    server.stop()
    raise RuntimeError(f"driftlab serve did not start: {server.log_tail()}")


@dataclass
class Load:
    """What the clients saw during one run."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    watchers: int = 0  # streams that opened
    events: list[int] = field(default_factory=list)  # per watcher that connected
    events_missing: bool = False  # the server answered 404 on /events

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def latency_ms(self, percentile: float) -> float:
        return float(np.percentile(self.latencies, percentile)) * 1000 if self.latencies else 0.0


@dataclass
class Measured:
    messages: int
    alone_s: float
    loaded_s: float
    load: Load

    @property
    def slowdown(self) -> float:
        return self.loaded_s / self.alone_s


async def start_run(session: aiohttp.ClientSession, server: Server, spec: dict[str, Any]) -> str:
    async with session.post(f"{server.url}/v1/runs", json=spec, headers=server.headers) as answer:
        body = await answer.json()
        if answer.status != 202:
            raise RuntimeError(f"POST /v1/runs answered {answer.status}: {body}")
        return str(body["id"])


async def finished_record(
    session: aiohttp.ClientSession, server: Server, run_id: str, every_s: float = 0.2
) -> dict[str, Any]:
    """The run's record once it has finished, polled every `every_s`."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(f"{server.url}/v1/runs/{run_id}", headers=server.headers) as answer:
            view = await answer.json()
        if RunStatus(view["status"]).finished:
            if view["status"] != RunStatus.SUCCEEDED:
                error = view["record"].get("error", "no error recorded")
                raise RuntimeError(
                    f"the run ended {view['status']}: {error}; the server's last error: "
                    f"{server.last_error()}"
                )
            return dict(view["record"])
        await asyncio.sleep(every_s)
    raise RuntimeError(f"the run did not finish within {RUN_TIMEOUT_S:.0f} s")


async def poll(
    session: aiohttp.ClientSession,
    server: Server,
    run_id: str,
    load: Load,
    done: asyncio.Event,
    deadline: float,
) -> None:
    """One client: GET the run again as soon as the last answer arrived, until it finished
    or the `deadline` (monotonic) passed: the load is bounded in time whatever the run does."""
    url = f"{server.url}/v1/runs/{run_id}"
    while not done.is_set() and time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            async with session.get(url, headers=server.headers) as answer:
                view = await answer.json()
                ok = answer.status == 200
        except aiohttp.ClientError:
            ok = False
        if not ok:
            load.errors += 1
            if server.process.poll() is not None:
                raise RuntimeError(f"driftlab serve exited: {server.log_tail()}")
            continue
        load.latencies.append(time.perf_counter() - started)
        if RunStatus(view["status"]).finished:
            done.set()


async def watch(session: aiohttp.ClientSession, server: Server, run_id: str, load: Load) -> None:
    """One SSE client: count the events of the run's stream until the server ends it."""
    headers = {**server.headers, "Accept": "text/event-stream"}
    async with session.get(f"{server.url}/v1/runs/{run_id}/events", headers=headers) as answer:
        if answer.status == 404:
            load.events_missing = True
            return
        answer.raise_for_status()
        load.watchers += 1
        index = len(load.events)
        load.events.append(0)
        in_event = False
        async for line in answer.content:
            if line.strip():
                in_event = True
            elif in_event:
                load.events[index] += 1
                in_event = False


async def end_streams(streams: list[asyncio.Task[None]]) -> None:
    """Give the streams STREAM_GRACE_S to end by themselves, then close them; a watcher's
    failure is the benchmark's."""
    if not streams:
        return
    _, late = await asyncio.wait(streams, timeout=STREAM_GRACE_S)
    for stream in late:
        stream.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    for stream in streams:
        if not stream.cancelled() and stream.exception() is not None:
            raise RuntimeError(f"a watcher failed: {stream.exception()!r}")


async def flush_redis() -> None:
    await (await fresh_redis()).aclose()


async def run_alone(spec: dict[str, Any], directory: Path) -> tuple[float, int]:
    """(seconds of the rounds, messages) of the run in a fresh server with no clients."""
    await flush_redis()
    server = await start_server(directory)
    try:
        async with aiohttp.ClientSession() as session:
            run_id = await start_run(session, server, spec)
            record = await finished_record(session, server, run_id)
    finally:
        server.stop()
    return sum(record["round_seconds"]), int(record["counts"]["messages"])


async def run_loaded(
    spec: dict[str, Any], directory: Path, pollers: int, watchers: int, limit_s: float
) -> tuple[float, Load]:
    """(seconds of the rounds, what the clients saw) of the run under load, fresh server; a
    RuntimeError naming the server's last error when the run has not finished in `limit_s`."""
    await flush_redis()
    server = await start_server(directory)
    load = Load()
    done = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None)
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            run_id = await start_run(session, server, spec)
            started = time.perf_counter()
            deadline = time.monotonic() + limit_s
            streams = [
                asyncio.create_task(watch(session, server, run_id, load)) for _ in range(watchers)
            ]
            await asyncio.gather(
                *(poll(session, server, run_id, load, done, deadline) for _ in range(pollers))
            )
            load.seconds = time.perf_counter() - started
            await end_streams(streams)
            if not done.is_set():
                raise RuntimeError(
                    f"the run did not finish within {limit_s:.0f} s under load; "
                    f"{load.errors} requests failed; the server's last error: "
                    f"{server.last_error()}"
                )
            record = await finished_record(session, server, run_id)
    finally:
        server.stop()
    return sum(record["round_seconds"]), load


async def measure(size: argparse.Namespace, directory: Path) -> Measured:
    spec = mixing_spec(size.agents, size.rounds)
    spec["topology"]["human_sources"] = size.agents // 2
    alone_s, messages = await run_alone(spec, directory)
    minimum, factor = LOADED_LIMIT
    limit_s = max(minimum, factor * alone_s)
    loaded_s, load = await run_loaded(spec, directory, size.pollers, size.watchers, limit_s)
    return Measured(messages, alone_s, loaded_s, load)


def report(index: int, measured: Measured) -> str:
    load = measured.load
    if load.events_missing:
        watched = "unavailable (GET /v1/runs/{id}/events: 404)"
    elif not load.watchers:
        watched = "none"
    else:
        watched = f"{load.watchers} connected, {min(load.events)} to {max(load.events)} events each"
    return (
        f"{index:>6} {measured.messages:>8,} {measured.alone_s:>7.2f} {measured.loaded_s:>8.2f} "
        f"{measured.slowdown:>8.2f} {len(load.latencies):>7,} {load.errors:>6} "
        f"{load.per_second:>7.0f} {load.latency_ms(50):>6.1f} {load.latency_ms(99):>6.1f}   "
        f"{watched}"
    )


async def main() -> None:
    """Parse the sizes, measure, print; SIGTERM stops it as Ctrl-C does (servers stopped)."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke-test size (seconds)")
    parser.add_argument("--agents", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--pollers", type=int)
    parser.add_argument("--watchers", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    for name, value in SIZES["quick" if args.quick else "full"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    print(
        f"{args.agents} agents x {args.rounds} rounds (synthetic), {args.pollers} pollers, "
        f"{args.watchers} SSE watchers, {args.repeats} repeat(s)"
    )
    print(
        f"{'repeat':>6} {'messages':>8} {'alone s':>7} {'loaded s':>8} {'slowdown':>8} "
        f"{'polls':>7} {'errors':>6} {'req/s':>7} {'p50 ms':>6} {'p99 ms':>6}   watchers"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="api-load-") as directory:
        for index in range(args.repeats):
            results.append(await measure(args, Path(directory)))
            print(report(index, results[-1]), flush=True)
    print(
        f"median: slowdown {statistics.median(r.slowdown for r in results):.2f}, "
        f"{statistics.median(r.load.per_second for r in results):.0f} requests/s, "
        f"p99 {statistics.median(r.load.latency_ms(99) for r in results):.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
