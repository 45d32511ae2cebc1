"""The dashboard with a large network: time to first render of a 5,000-agent run's graph,
and frame times while that run streams its rounds to the page.

A `driftlab serve` subprocess on loopback runs a synthetic small world (`--agents`, k = 6,
p = 0.1, one human source, `--rounds` rounds); headless Chromium (Debian's, through
Playwright, its default flags: WebGL on Chromium's software renderer where no GPU is) opens
the run's page as soon as the run is posted. Reported:

- first render, of a finished run's page (`--repeats` fresh pages): from the page's navigation
  start to the graph's first frame (`performance.mark` at the animation frame after the graph
  is first drawn), with the topology request (`GET /v1/runs/{id}/topology`) and the page's own
  part (from the topology's arrival to the first frame: layout, set-up, drawing);
- frames while streaming: a page opened on a second run of the same spec as soon as it is
  posted; the gaps between successive `requestAnimationFrame` callbacks from the graph's
  first frame to the run's final status, and the long tasks (> 50 ms) Chromium reported
  meanwhile (time the page's main thread was busy);
- baseline: the same page's frame gaps for `--idle` seconds after the run ended (graph drawn,
  no updates), measured in the same invocation; the streaming figures are also given as
  ratios to it;
- first, the server's side of the topology request alone (`bench.topology_request`: as it
  was built before it was kept, at a run's first request, read back), as ratios;
- with `--baseline CHECKOUT` (another checkout of driftlab, such as a `git worktree` of an
  earlier commit), the same figures for that checkout's page and server, measured in the same
  invocation after this one's, and this page's figures as ratios to them.

    python -m bench.dashboard [--quick] [--agents 5000] [--rounds 20] [--idle 3] [--repeats 3]
                              [--baseline CHECKOUT]

It writes to the benchmarks' Redis db (DRIFTLAB_BENCH_REDIS_URL, db 14) and flushes it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import topology_request
from bench.common import BENCH_REDIS_URL, mixing_spec
from bench.concurrency import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "bench-token-0123456789"  # tokens need 16 characters
RENDERED = "() => performance.getEntriesByName('driftlab:graph-rendered').length"
FRAME_RECORDER = """
window.__frames = [];
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push([entry.startTime, entry.duration]);
}).observe({ type: "longtask", buffered: true });
const tick = (now) => { window.__frames.push(now); requestAnimationFrame(tick); };
requestAnimationFrame(tick);
window.sessionStorage.setItem("driftlab-token", "%s");
"""


def _serve(root: Path, port: int, runs_dir: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "DRIFTLAB_REDIS_URL": BENCH_REDIS_URL,
        "DRIFTLAB_API_TOKEN": TOKEN,
        "DRIFTLAB_RUNS_DIR": runs_dir,
    }
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
    return subprocess.Popen(command, cwd=root, env=env, stderr=subprocess.DEVNULL)


def _call(url: str, method: str = "GET", body: bytes | None = None) -> bytes:
    request = urllib.request.Request(
        url,
        method=method,
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bytes(answer.read())


def _until_up(url: str) -> None:
    for _ in range(600):
        try:
            _call(f"{url}/v1/health")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise SystemExit(f"driftlab serve did not answer at {url}")


def _gaps(frames: list[float], start: float, end: float) -> list[float]:
    inside = [t for t in frames if start <= t <= end]
    return [b - a for a, b in itertools.pairwise(inside)]


def _summary(gaps: list[float]) -> dict[str, float]:
    if not gaps:
        raise SystemExit("the run ended before its graph was drawn: use more --rounds")
    ordered = sorted(gaps)
    return {
        "frames": len(gaps),
        "median": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "max": ordered[-1],
        "over_100ms": sum(gap > 100 for gap in gaps),
    }


def _new_page(browser: Any) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(FRAME_RECORDER % TOKEN)
    return page


def _start_run(url: str, agents: int, rounds: int) -> str:
    spec = json.dumps(mixing_spec(agents, rounds)).encode()
    return str(json.loads(_call(f"{url}/v1/runs", "POST", spec))["id"])


def _wait_run(url: str, run_id: str) -> None:
    live = ("queued", "running", "exporting")
    while True:
        try:
            if json.loads(_call(f"{url}/v1/runs/{run_id}"))["status"] not in live:
                return
        except urllib.error.HTTPError as error:
            if error.code != 503:  # a checkout from before the Redis watch waited for a busy Redis
                raise
        time.sleep(0.5)


def _first_render(browser: Any, url: str, run_id: str) -> tuple[float, float, float]:
    """Of a fresh page: ms from navigation to the graph's first frame, ms in the topology
    request, and ms from the topology's arrival to the first frame (layout, sigma, drawing)."""
    page = _new_page(browser)
    page.goto(f"{url}/#/run/{run_id}")
    page.wait_for_function(RENDERED, timeout=300_000)
    rendered, started, arrived = page.evaluate(
        """() => [performance.getEntriesByName('driftlab:graph-rendered')[0].startTime,
                  ...performance.getEntriesByType('resource')
                    .filter((entry) => entry.name.endsWith('/topology'))
                    .map((entry) => [entry.startTime, entry.responseEnd])[0]]"""
    )
    page.close()
    return float(rendered), float(arrived - started), float(rendered - arrived)


def measure(
    agents: int, rounds: int, idle_s: float, repeats: int, root: Path = ROOT
) -> dict[str, Any]:
    """First renders of a finished run's page (`repeats` fresh pages), then the frames of a
    page following a second run of the same spec from its start to its end, then idle; the
    page and server of the checkout at `root`."""
    import redis
    from playwright.sync_api import sync_playwright

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as runs_dir:
        server = _serve(root, port, runs_dir)
        try:
            _until_up(url)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM)
                finished = _start_run(url, agents, rounds)
                _wait_run(url, finished)
                renders = [_first_render(browser, url, finished) for _ in range(repeats)]
                page = _new_page(browser)
                run_id = _start_run(url, agents, rounds)
                page.goto(f"{url}/#/run/{run_id}")
                page.wait_for_function(RENDERED, timeout=300_000)
                page.wait_for_selector("#run-status .badge.succeeded", timeout=900_000)
                streamed_at = page.evaluate("() => performance.now()")
                page.wait_for_timeout(idle_s * 1000)
                found = page.evaluate(
                    """() => ({
                      rendered: performance.getEntriesByName(
                        'driftlab:graph-rendered')[0].startTime,
                      frames: window.__frames,
                      longTasks: window.__longTasks,
                      now: performance.now(),
                      edges: document.getElementById('graph').liveGraph.graph.size,
                      nodes: document.getElementById('graph').liveGraph.graph.order,
                      rounds: Number(document.getElementById('view').dataset.rounds),
                    })"""
                )
                browser.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(60)
    rendered = found["rendered"]
    long_tasks = [d for start, d in found["longTasks"] if rendered <= start <= streamed_at]
    return {
        "nodes": found["nodes"],
        "edges": found["edges"],
        "rounds": found["rounds"],
        "renders": renders,
        "streaming_s": (streamed_at - rendered) / 1000,
        "streaming": _summary(_gaps(found["frames"], rendered, streamed_at)),
        "idle": _summary(_gaps(found["frames"], streamed_at + 500, found["now"])),
        "long_tasks": len(long_tasks),
        "longest_task_ms": max(long_tasks, default=0.0),
    }


def report(result: dict[str, Any]) -> list[str]:
    streaming, idle = result["streaming"], result["idle"]
    size = f"{result['nodes']:,} nodes, {result['edges']:,} edges; {result['rounds']} rounds"
    lines = [f"graph: {size}"]
    for render, topology, drawing in result["renders"]:
        lines.append(
            f"first render: {render:.0f} ms from navigation (topology request {topology:.0f} ms; "
            f"from its arrival to the first frame {drawing:.0f} ms)"
        )
    lines += [
        f"first render, median of {len(result['renders'])}: {_median_render(result):.0f} ms",
        f"streaming: {result['streaming_s']:.1f} s from the graph's first frame to the end",
        "frames      count  median ms  p99 ms  max ms  over 100 ms",
    ]
    for name, row in (("streaming", streaming), ("idle", idle)):
        lines.append(
            f"{name:<10} {row['frames']:>6} {row['median']:>10.1f} {row['p99']:>7.1f} "
            f"{row['max']:>7.1f} {row['over_100ms']:>12}"
        )
    lines += [
        f"long tasks while streaming: {result['long_tasks']}, "
        f"longest {result['longest_task_ms']:.0f} ms",
        f"streaming / idle: median {streaming['median'] / idle['median']:.2f}, "
        f"p99 {streaming['p99'] / idle['p99']:.2f}, max {streaming['max'] / idle['max']:.2f}",
    ]
    return lines


def _median_render(result: dict[str, Any]) -> float:
    return statistics.median(render for render, _, _ in result["renders"])


def against_baseline(result: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """This page's figures as ratios to the baseline checkout's (below 1: this one is faster)."""
    ours, theirs = result["streaming"], baseline["streaming"]
    return [
        f"first render / baseline: {_median_render(result) / _median_render(baseline):.2f} "
        f"(medians {_median_render(result):.0f} / {_median_render(baseline):.0f} ms)",
        f"streaming frames / baseline: median {ours['median'] / theirs['median']:.2f}, "
        f"p99 {ours['p99'] / theirs['p99']:.2f}, max {ours['max'] / theirs['max']:.2f}; "
        f"over 100 ms {ours['over_100ms']} of {ours['frames']} against "
        f"{theirs['over_100ms']} of {theirs['frames']}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of baseline frames")
    parser.add_argument("--repeats", type=int, default=3, help="first renders measured")
    parser.add_argument("--quick", action="store_true", help="300 agents, 20 rounds, 1 s idle")
    parser.add_argument(
        "--baseline", type=Path, help="another driftlab checkout, measured after this one"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        raise SystemExit("needs Debian's chromium: apt-get install -y chromium")
    if args.baseline and not (args.baseline / "service" / "api" / "dashboard").is_dir():
        raise SystemExit(f"--baseline {args.baseline}: not a driftlab checkout with a dashboard")
    if args.quick:
        args.agents, args.rounds, args.idle = 300, 20, 1.0
    print("\n".join(topology_request.report(asyncio.run(topology_request.measure(args.agents, 5)))))
    result = measure(args.agents, args.rounds, args.idle, args.repeats)
    print("\n".join(report(result)))
    if args.baseline:
        baseline = measure(args.agents, args.rounds, args.idle, args.repeats, args.baseline)
        print(f"baseline, {args.baseline.name}:")
        print("\n".join(report(baseline)))
        print("\n".join(against_baseline(result, baseline)))


if __name__ == "__main__":
    main()
