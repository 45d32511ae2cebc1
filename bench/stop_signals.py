"""Stopping a run: `driftlab run --workers N` against a loopback OpenAI-compatible stub, sent
SIGTERM or SIGINT at a random moment of its run; each try passes when the command exits with
143 / 130 within STOP_BOUND_S of the signal and leaves no worker process behind. Reports
tries passed and the slowest stop.

    python -m bench.stop_signals [--tries 100] [--workers 1 2 3 4] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web
from redis.asyncio import Redis

from agents.openai_stub import create_stub_app
from bench.common import BENCH_REDIS_URL, SOURCE
from service.provenance import keys

ROOT = Path(__file__).resolve().parents[1]
STOP_BOUND_S = 20.0
EXIT_CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}


@dataclass(frozen=True)
class Stop:
    """One try: what was sent when, how the command ended and how long it took."""

    workers: int
    sent: signal.Signals
    after_s: float
    exit_code: int | None
    seconds: float
    workers_left: int
    stacks: str = ""

    @property
    def passed(self) -> bool:
        return (
            self.exit_code == EXIT_CODES[self.sent]
            and self.seconds <= STOP_BOUND_S
            and self.workers_left == 0
        )


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc; zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if int(parent) == pid and state != "Z":
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def stop_once(
    workers: int, sent: signal.Signals, after_s: float, base_url: str, redis_url: str
) -> Stop:
    """Start a run with `workers` step processes, send `sent` `after_s` seconds after it is
    stored as running, and time its exit. A command that does not stop is sent SIGABRT
    (Python's fault handler then prints every thread's stack, kept in `Stop.stacks`)."""
    spec = {
        "name": "stop",
        "seed": 1,
        "backend": "openai",
        "model": "stub-model",
        "embedder": "none",
        "source": {"text": SOURCE},
        "topology": {"kind": "mixing", "graph": "complete", "n_agents": 12, "human_sources": 2},
        "rounds": 50,
        "concurrency": 4,
        "workers": workers,
    }
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "s.yaml").write_text(yaml.safe_dump(spec))
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DRIFTLAB_REDIS_URL": redis_url,
            "OPENAI_BASE_URL": base_url,
            "OPENAI_API_KEY": "bench-key",
            "PYTHONFAULTHANDLER": "1",
        }
        run_id = f"stop-{os.getpid()}-{time.monotonic_ns()}"
        errors = Path(directory) / "stderr.txt"
        with errors.open("wb") as stderr:
            command = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "service.cli", "run", "s.yaml", "--run-id", run_id,
                cwd=directory, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )  # fmt: skip
        await _until_running(redis_url, run_id, command)
        await asyncio.sleep(after_s)
        seen = children_of(command.pid)
        command.send_signal(sent)
        started = time.monotonic()
        try:
            await asyncio.wait_for(command.wait(), STOP_BOUND_S * 2)
        except TimeoutError:
            command.send_signal(signal.SIGABRT)
            await command.wait()
            stacks = errors.read_text(errors="replace")[-8000:]
            return Stop(workers, sent, after_s, None, STOP_BOUND_S * 2, len(seen), stacks)
        seconds = time.monotonic() - started
        await asyncio.sleep(0.2)
        left = sum(alive(pid) for pid in seen)
        return Stop(workers, sent, after_s, command.returncode, seconds, left)


async def _until_running(redis_url: str, run_id: str, command: asyncio.subprocess.Process) -> None:
    redis = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 120
        while command.returncode is None and time.monotonic() < deadline:
            if await redis.hget(keys.run(run_id), "status") == b"running":
                return
            await asyncio.sleep(0.05)
    finally:
        await redis.aclose()


async def stop_tries(tries: int, workers: list[int], seed: int) -> list[Stop]:
    """`tries` stops, cycling through `workers` and both signals, at random moments."""
    draw = random.Random(seed)
    stub = web.AppRunner(create_stub_app(latency_s=0.1, jitter_s=0.05))
    await stub.setup()
    site = web.TCPSite(stub, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        results = []
        for number in range(tries):
            sent = (signal.SIGTERM, signal.SIGINT)[number % 2]
            count = workers[(number // 2) % len(workers)]
            stop = await stop_once(
                count,
                sent,
                draw.uniform(0.0, 2.0),
                f"http://127.0.0.1:{port}/v1",
                BENCH_REDIS_URL,
            )
            results.append(stop)
            print(
                f"{number + 1:3d} workers={stop.workers} {stop.sent.name} after "
                f"{stop.after_s:.2f}s: exit {stop.exit_code} in {stop.seconds:.2f}s, "
                f"{stop.workers_left} workers left -> {'ok' if stop.passed else 'FAILED'}",
                flush=True,
            )
            if stop.stacks:
                print(stop.stacks, flush=True)
        return results
    finally:
        await stub.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = asyncio.run(stop_tries(args.tries, args.workers, args.seed))
    passed = sum(stop.passed for stop in results)
    slowest = max(stop.seconds for stop in results)
    print(f"stopped within {STOP_BOUND_S:.0f} s, no worker left: {passed}/{len(results)}")
    print(f"slowest stop: {slowest:.2f} s")


if __name__ == "__main__":
    main()
