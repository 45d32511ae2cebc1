"""Failures outside the user's input, on a Redis of the test's own: exit 1, one message,
never a traceback, never a password."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as sync_redis
import yaml

from service.provenance.redis_conn import server_binary
from tests.conftest import free_port, spec_dict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A redis-server on a free loopback port, password `s3cret-pw`; stopped at the end."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(server_binary(), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--requirepass", "s3cret-pw"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = sync_redis.Redis(port=port, password="s3cret-pw")
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except sync_redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield server, port
    if server.poll() is None:
        server.kill()
    server.wait(timeout=10)


def driftlab(*args: str, url: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DRIFTLAB_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_wrong_redis_password_is_not_printed(own_redis, tmp_path):
    """Refused by Redis: exit 1, the reason given, the password shown as ***."""
    _, port = own_redis
    process = driftlab("runs", url=f"redis://:wrong-pw@127.0.0.1:{port}/0", cwd=tmp_path)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"redis://***@127.0.0.1:{port}/0" in stderr and "wrong-pw" not in stderr
    assert "Traceback" not in stderr


def test_redis_going_away_mid_run_exits_1(own_redis, tmp_path):
    """The server dies during a run: one message naming Redis, exit 1, no traceback."""
    server, port = own_redis
    spec = tmp_path / "long.yaml"
    spec.write_text(
        yaml.safe_dump(spec_dict(topology={"kind": "mixing", "n_agents": 100}, rounds=5000))
    )
    process = driftlab("run", str(spec), url=f"redis://:s3cret-pw@127.0.0.1:{port}/0", cwd=tmp_path)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("round 3/"):
            break
    else:
        pytest.fail(f"the run never reached round 3: exit {process.wait()}")
    server.kill()
    server.wait(timeout=10)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 1, rest
    assert "error: Redis failed during the command" in rest
    assert "Traceback" not in rest and "s3cret-pw" not in rest
