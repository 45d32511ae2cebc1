"""compose.yaml is valid and everything it starts also starts without Docker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import yaml

from service.experiment.settings import Settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def test_services_and_dependencies():
    """The file declares redis, the demo job and the stub; dependencies name real services."""
    assert set(SERVICES) == {"redis", "demo", "openai-stub"}
    for service in SERVICES.values():
        assert "image" in service or "build" in service
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES
    assert SERVICES["demo"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in SERVICES["redis"]


def test_environment_names_are_driftlab_settings():
    """Every DRIFTLAB_* variable set in compose is a field of Settings."""
    fields = {f"DRIFTLAB_{name.upper()}" for name in Settings.model_fields}
    for service in SERVICES.values():
        for name in service.get("environment", {}):
            if name.startswith("DRIFTLAB_"):
                assert name in fields, name


def test_built_services_use_the_dockerfile_entrypoint_and_real_files():
    """The demo's command is a driftlab command line over a file in the repository."""
    assert (ROOT / "Dockerfile").is_file()
    command = SERVICES["demo"]["command"]
    assert command[0] == "run" and (ROOT / command[1]).is_file()


def test_demo_command_runs_without_docker(tmp_path):
    """The demo service's command line is accepted by the local driftlab (as a dry run)."""
    command = [c for c in SERVICES["demo"]["command"] if not c.startswith("/data")]
    command = [c for c in command if c != "--out"]
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", *command, "--dry-run", "--backend", "synthetic"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "LLM calls" in result.stdout


async def test_stub_service_starts_without_docker():
    """The stub service's entrypoint and command start a server that answers chat calls."""
    service = SERVICES["openai-stub"]
    command = [*service["entrypoint"], *service["command"]]
    port = free_port()
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"
    assert command[0] == "python"
    server = subprocess.Popen([sys.executable, *command[1:]], cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "one two three"}]}
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.post(url, json=body) as response:
                        reply = await response.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the stub did not start")
        assert reply["choices"][0]["message"]["content"] == "m retells: one two three"
    finally:
        server.terminate()
        server.wait(timeout=10)
