"""The benchmarks still run: each at its smallest size, as a subprocess, reporting what it
should (the figures themselves are for docs/performance.md, not for tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import test_redis_url

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(
    r"^\s*0\s+(?P<messages>[\d,]+)\s+(?P<alone>[\d.]+)\s+(?P<loaded>[\d.]+)\s+"
    r"(?P<slowdown>[\d.]+)\s+(?P<polls>[\d,]+)\s+(?P<errors>\d+)\s+(?P<rps>\d+)\s+"
    r"(?P<p50>[\d.]+)\s+(?P<p99>[\d.]+)\s+(?P<watchers>.+)$",
    re.MULTILINE,
)


def run_bench(module: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLAB_BENCH_REDIS_URL": test_redis_url()}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_api_load_quick():
    """bench.api_load --quick polls a live server through a whole run without errors, and
    reports the run's slowdown and either its SSE watchers or that the route is missing."""
    output = run_bench("bench.api_load", "--quick")
    row = ROW.search(output)
    assert row is not None, output
    assert int(row["messages"].replace(",", "")) > 100
    assert float(row["alone"]) > 0 and float(row["loaded"]) > 0
    assert float(row["slowdown"]) > 0
    assert int(row["polls"].replace(",", "")) >= 10 and int(row["errors"]) == 0
    assert float(row["p99"]) >= float(row["p50"]) > 0
    watchers = row["watchers"]
    assert watchers.startswith("unavailable (GET /v1/runs/{id}/events: 404)") or re.match(
        r"5 connected, [1-9]\d* to \d+ events each", watchers
    ), watchers
    assert "median: slowdown" in output
