"""compose.yaml is valid and safe, and everything it starts also starts without Docker, with
the commands the README gives."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agents.agent import Agent
from agents.local_chat import BUNDLED_MODEL, bundled_model_path
from agents.local_server import server_args
from agents.openai_chat import OpenAIChatBackend
from agents.personas import BUILTIN_PERSONAS
from agents.tasks import InputText
from service.api.settings import ApiSettings
from service.provenance.redis_conn import RedisUnavailable, server_binary
from tests.conftest import SOURCE_TEXT, free_port, spec_dict

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}")
SECRETS = ("REDIS_PASSWORD", "DRIFTLAB_API_TOKEN")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|KEY|AUTH|SECRET")
STARTUP_S = 60.0


def strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def env_file(path: Path) -> dict[str, str]:
    """NAME=value lines of a .env file (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if not name.startswith("#")}


def test_services_profiles_and_dependencies():
    """redis, api and worker start by default; the local model, demo and stub under profiles;
    every dependency names a service and waits for it to be healthy."""
    default = {name for name, service in SERVICES.items() if "profiles" not in service}
    assert default == {"redis", "api", "worker"}
    assert SERVICES["local-model"]["profiles"] == ["local-model"]
    assert set(SERVICES) == default | {"local-model", "demo", "openai-stub"}
    for service in SERVICES.values():
        assert "image" in service or "build" in service
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in SERVICES
            assert condition == {"condition": "service_healthy"}
    for name in ("api", "worker", "demo"):
        assert "redis" in SERVICES[name]["depends_on"]
    assert "healthcheck" in SERVICES["redis"] and "healthcheck" in SERVICES["api"]


def test_redis_is_durable_private_and_protected():
    """Redis: AOF fsynced every second, a password, its data in a declared volume, no port."""
    redis = SERVICES["redis"]
    assert "ports" not in redis
    command = redis["command"]
    assert command[0] == "redis-server"
    flags = dict(zip(command[1::2], command[2::2], strict=True))
    assert flags["--appendonly"] == "yes"
    assert flags["--appendfsync"] == "everysec"
    assert flags["--requirepass"].startswith("${REDIS_PASSWORD:?")
    volumes = {entry.split(":")[0]: entry.split(":")[1] for entry in redis["volumes"]}
    assert volumes == {"redis-data": "/data"}
    assert "redis-data" in COMPOSE["volumes"]


def test_secrets_only_through_required_interpolation():
    """The two secrets appear only as ${VAR:?...}; every secret-like environment value is an
    interpolation, never a literal."""
    for text in strings(COMPOSE):
        for match in INTERPOLATION.finditer(text):
            if match.group(1) in SECRETS:
                assert match.group(2) == "?", text
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(value), f"{name}.{key} is not an interpolation"
    url = SERVICES["api"]["environment"]["DRIFTLAB_REDIS_URL"]
    assert url.startswith("redis://:${REDIS_PASSWORD:?") and url.endswith("@redis:6379/0")


def test_api_binds_all_interfaces_and_needs_the_token():
    """The API listens on 0.0.0.0 inside the stack, so its token is required; it is published
    and its healthcheck asks /v1/health."""
    api = SERVICES["api"]
    command = api["command"]
    assert command[:1] == ["serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert api["environment"]["DRIFTLAB_API_TOKEN"].startswith("${DRIFTLAB_API_TOKEN:?")
    assert api["ports"] and all(port.endswith(":8080") for port in api["ports"])
    assert any("/v1/health" in part for part in api["healthcheck"]["test"])


def test_worker_is_scalable():
    """The worker runs `driftlab worker` against the API's Redis; with no fixed name and no
    published port, `--scale worker=N` can start N of them."""
    worker = SERVICES["worker"]
    assert worker["command"][0] == "worker"
    assert "container_name" not in worker and "ports" not in worker
    redis_url = worker["environment"]["DRIFTLAB_REDIS_URL"]
    assert redis_url == SERVICES["api"]["environment"]["DRIFTLAB_REDIS_URL"]


def test_local_model_serves_the_bundled_model_via_its_entry_point():
    """The local model service runs agents.local_server on all interfaces of its container."""
    service = SERVICES["local-model"]
    assert service["entrypoint"] == ["python", "-m", "agents.local_server"]
    assert service["command"][service["command"].index("--host") + 1] == "0.0.0.0"


def test_env_example_defines_every_interpolated_variable():
    """.env.example names each variable compose.yaml interpolates, leaves the secrets empty
    (compose then refuses to start until they are set), and .env is never committed."""
    used = {m.group(1) for text in strings(COMPOSE) for m in INTERPOLATION.finditer(text)}
    example = env_file(ROOT / ".env.example")
    assert used <= set(example), used - set(example)
    assert set(SECRETS) <= used
    for secret in SECRETS:
        assert example[secret] == ""
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def compose_cli() -> list[str] | None:
    """`docker compose` or `docker-compose`, whichever is installed (neither needs a daemon
    for `config`)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return ["docker", "compose"]
    found = shutil.which("docker-compose")
    return [found] if found else None


def test_compose_cli_refuses_empty_secrets_and_accepts_the_file(tmp_path):
    """Where a compose CLI is installed: with .env.example as it is, compose refuses the file
    (its secrets are empty); with them set, the file validates and the password reaches every
    Redis URL."""
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither docker compose nor docker-compose is installed")
    base = [*cli, "-f", str(ROOT / "compose.yaml"), "--project-directory", str(ROOT)]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}

    def config(env_file: Path) -> subprocess.CompletedProcess[str]:
        command = [*base, "--env-file", str(env_file), "config"]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    refused = config(ROOT / ".env.example")
    assert refused.returncode != 0
    assert re.search(r"set (REDIS_PASSWORD|DRIFTLAB_API_TOKEN) in \.env", refused.stderr)
    filled = tmp_path / ".env"
    example = (ROOT / ".env.example").read_text()
    filled.write_text(
        example.replace("REDIS_PASSWORD=\n", "REDIS_PASSWORD=pw123\n").replace(
            "DRIFTLAB_API_TOKEN=\n", "DRIFTLAB_API_TOKEN=tok456\n"
        )
    )
    accepted = config(filled)
    assert accepted.returncode == 0, accepted.stderr
    services = yaml.safe_load(accepted.stdout)["services"]
    for name in ("api", "worker"):
        assert services[name]["environment"]["DRIFTLAB_REDIS_URL"] == "redis://:pw123@redis:6379/0"
    assert services["api"]["environment"]["DRIFTLAB_API_TOKEN"] == "tok456"
    assert "ports" not in services["redis"]


def test_environment_names_are_driftlab_settings():
    """Every DRIFTLAB_* variable set in compose is a field of the API's settings."""
    fields = {f"DRIFTLAB_{name.upper()}" for name in ApiSettings.model_fields}
    for service in SERVICES.values():
        for name in service.get("environment", {}):
            if name.startswith("DRIFTLAB_"):
                assert name in fields, name


def test_image_installs_the_local_server_extra_on_the_portable_build():
    """The Dockerfile builds llama.cpp with the portable script, then installs the extras the
    services need, the local model server's included."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "scripts/install-llama.sh" in dockerfile
    assert "'.[local,local-server]'" in dockerfile
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


# The stack without Docker: the README's commands, on free ports and in a temporary directory.


def readme_stack() -> dict[str, list[str]]:
    """The README's commands for the stack without Docker, by program: each one split as the
    shell would, its trailing `&` and comment dropped."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("The same stack without Docker") :]
    opening = section.index("```sh") + len("```sh")
    block = section[opening : section.index("```", opening)]
    commands: dict[str, list[str]] = {}
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[-1] == "&":
            words.pop()
        if words:
            commands[command_name(words)] = words
    return commands


def command_name(words: list[str]) -> str:
    """`driftlab serve`, `python -m agents.local_server`, `redis-server`..."""
    return " ".join(words[: {"driftlab": 2, "python": 3}.get(words[0], 1)])


def replace_flag(words: list[str], flag: str, value: str) -> list[str]:
    copy = list(words)
    copy[copy.index(flag) + 1] = value
    return copy


def test_readme_stack_uses_the_compose_settings():
    """The README's redis-server has compose's AOF and password flags, its Redis URL carries
    the password to that port, and serve and worker run as the services do."""
    commands = readme_stack()
    redis = commands["redis-server"]
    compose_flags = SERVICES["redis"]["command"][1:]
    for flag, value in zip(compose_flags[::2], compose_flags[1::2], strict=True):
        expected = "$REDIS_PASSWORD" if flag == "--requirepass" else value
        assert redis[redis.index(flag) + 1] == expected, flag
    url = commands["export"][1]
    port = redis[redis.index("--port") + 1]
    assert url == f"DRIFTLAB_REDIS_URL=redis://:$REDIS_PASSWORD@127.0.0.1:{port}/0"
    assert commands["driftlab serve"][1:] == SERVICES["api"]["command"]
    assert commands["driftlab worker"][1:] == SERVICES["worker"]["command"]
    local_server = commands["python -m agents.local_server"]
    assert local_server[:3] == SERVICES["local-model"]["entrypoint"]


async def wait_for(check: Any, what: str, processes: list[subprocess.Popen[bytes]]) -> Any:
    """`await check()` until it returns something true, or fail naming `what`."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"{process.args} exited while waiting for {what}"
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {what} within {STARTUP_S:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


async def test_stack_runs_without_docker(tmp_path):
    """The README's redis-server (AOF, password), `driftlab serve` with a token and `driftlab
    worker`: health answers without the token, the runs route only with it, and a distributed
    run started over HTTP is carried out by the worker and written to the append-only file."""
    try:
        binary = server_binary()
    except RedisUnavailable:
        pytest.skip("no redis-server on this machine")
    commands = readme_stack()
    password, token = "s3cretPassw0rd", "t0ken-for-the-test"
    redis_port, api_port = free_port(), free_port()
    redis_argv = replace_flag(commands["redis-server"], "--port", str(redis_port))
    redis_argv = replace_flag(redis_argv, "--dir", str(tmp_path))
    redis_argv = [binary, *[password if w == "$REDIS_PASSWORD" else w for w in redis_argv[1:]]]
    redis_url = f"redis://:{password}@127.0.0.1:{redis_port}/0"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DRIFTLAB_REDIS_URL": redis_url,
        "DRIFTLAB_API_TOKEN": token,
        "DRIFTLAB_RUNS_DIR": str(tmp_path / "runs"),
    }
    serve_argv = replace_flag(commands["driftlab serve"], "--port", str(api_port))
    serve_argv = replace_flag(serve_argv, "--host", "127.0.0.1")
    processes: list[subprocess.Popen[bytes]] = []
    client = Redis.from_url(redis_url)
    anonymous = Redis(port=redis_port)
    try:
        processes.append(subprocess.Popen(redis_argv, stdout=subprocess.DEVNULL))

        async def redis_answers() -> bool:
            try:
                return bool(await client.ping())
            except RedisError:
                return False

        await wait_for(redis_answers, "Redis", processes)
        with pytest.raises(RedisError, match=r"(?i)noauth|authenticat"):
            await anonymous.ping()
        assert await client.config_get("appendfsync") == {"appendfsync": "everysec"}
        redis_healthcheck(Path(binary).with_name("redis-cli"), redis_port, password)
        for argv in (serve_argv, commands["driftlab worker"]):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "service.cli", *argv[1:]], env=env, cwd=ROOT
                )
            )
        base = f"http://127.0.0.1:{api_port}"
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as session:

            async def healthy() -> dict[str, Any] | None:
                try:
                    async with session.get(f"{base}/v1/health") as response:
                        return await response.json() if response.status == 200 else None
                except aiohttp.ClientError:
                    return None

            assert await wait_for(healthy, "API health", processes) == {
                "status": "ok",
                "redis": True,
            }
            async with session.get(f"{base}/v1/runs") as response:
                assert response.status == 401
            async with session.get(f"{base}/v1/runs", headers=auth) as response:
                assert response.status == 200
                assert (await response.json())["items"] == []
            spec = spec_dict(distributed=True, rounds=2)
            async with session.post(f"{base}/v1/runs", json=spec, headers=auth) as response:
                assert response.status == 202, await response.text()
                run_id = (await response.json())["id"]

            async def finished() -> dict[str, Any] | None:
                async with session.get(f"{base}/v1/runs/{run_id}", headers=auth) as response:
                    view = await response.json()
                return view if view["status"] not in ("queued", "running", "exporting") else None

            view = await wait_for(finished, "finished run", processes)
        assert view["status"] == "succeeded", view
        assert view["record"]["counts"]["model"] == 2  # the chain passes one text per round
        assert any(path.stat().st_size for path in tmp_path.rglob("*.aof"))  # 6.2 and 7 names
        healthcheck(SERVICES["api"], 8080, api_port, expect=0)
        healthcheck(SERVICES["api"], 8080, free_port(), expect=1)
    finally:
        for process in reversed(processes):
            stop(process)
        await client.aclose()
        await anonymous.aclose()


def redis_healthcheck(cli: Path, port: int, password: str) -> None:
    """Redis's healthcheck passes with the password in REDISCLI_AUTH (as compose sets it) and
    fails with a wrong one."""
    kind, command = SERVICES["redis"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL" and SERVICES["redis"]["environment"]["REDISCLI_AUTH"]
    command = command.replace("redis-cli", f"{cli} -p {port}", 1)
    for auth, expect in ((password, 0), ("wrong", 1)):
        env = {**os.environ, "REDISCLI_AUTH": auth}
        result = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=30)
        assert result.returncode == expect, result


def healthcheck(service: dict[str, Any], port: int, actual_port: int, *, expect: int) -> None:
    """Run a service's CMD healthcheck here, pointed at `actual_port`."""
    kind, *argv = service["healthcheck"]["test"]
    assert kind == "CMD" and argv[0] == "python"
    argv = [sys.executable, *(a.replace(f":{port}/", f":{actual_port}/") for a in argv[1:])]
    result = subprocess.run(argv, capture_output=True, timeout=30)
    assert (result.returncode == 0) == (expect == 0), result.stderr


# The local model server: the bundled model behind llama-cpp-python's OpenAI-compatible server.


@pytest.mark.local
def test_local_server_serves_the_bundled_model_unless_told_otherwise():
    """Without --model the bundled GGUF file is served under its name; a given model is kept
    and every other argument passes through."""
    model, args = server_args(["--port", "9000"])
    assert model == bundled_model_path()
    assert args == ["--model", str(model), "--model_alias", BUNDLED_MODEL, "--port", "9000"]
    assert server_args(["--model=/m/x.gguf", "--n_ctx", "512"]) == (
        Path("/m/x.gguf"),
        ["--model=/m/x.gguf", "--n_ctx", "512"],
    )


@pytest.mark.local
async def test_local_server_answers_the_openai_backend():
    """`python -m agents.local_server` starts llama_cpp.server on the bundled model, and
    driftlab's openai backend gets a completion from it."""
    service = SERVICES["local-model"]
    port = free_port()
    argv = replace_flag(service["command"], "--port", str(port))
    argv = replace_flag(argv, "--host", "127.0.0.1")
    server = subprocess.Popen(
        [sys.executable, *service["entrypoint"][1:], *argv, "--n_ctx", "1024"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    backend = OpenAIChatBackend(base_url=f"http://127.0.0.1:{port}/v1", api_key="local")
    try:
        async with aiohttp.ClientSession() as session:

            async def models() -> list[str] | None:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/v1/models") as response:
                        return [m["id"] for m in (await response.json())["data"]]
                except aiohttp.ClientError:
                    return None

            assert await wait_for(models, "local model server", [server]) == [BUNDLED_MODEL]
        agent = Agent(BUILTIN_PERSONAS["editor"], backend, "summarize", max_tokens=8)
        reply = await agent.respond([InputText(SOURCE_TEXT)], seed=3)
        assert reply.completion.text.strip()
        assert 0 < reply.completion.usage.completion_tokens <= 8
    finally:
        await backend.aclose()
        stop(server)
