"""LLM faults: the one retry layer against a real endpoint that misbehaves as hosted ones do."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from agents.backend import BackendError, ChatRequest
from agents.openai_chat import OpenAIChatBackend
from agents.openai_faults import FAULT_KINDS, FaultPlan
from agents.openai_http import AiohttpChatBackend
from agents.openai_stub import REQUESTS, create_stub_app
from agents.personas import BUILTIN_PERSONAS
from agents.retrying import CallFailed, CallPolicy, RetryingBackend
from service.experiment.experiment import load
from service.experiment.rng import backend_seed
from service.run.engine import Engine
from service.status import RunStatus
from tests.conftest import cli_process, cli_result, free_port, test_redis_url

ROOT = Path(__file__).resolve().parent.parent
MIXING = ROOT / "examples" / "mixing-injection.yaml"
KIND_SEEN = {  # injected fault -> the kind the client records
    "rate_limited": "rate_limited",
    "http_500": "server_error",
    "http_502": "server_error",
    "http_503": "server_error",
    "stall": "timeout",
    "empty": "empty",
    "malformed": "malformed",
    "non_text": "non_text",
}
FAST = CallPolicy(timeout_s=1.0, max_attempts=4, backoff_s=0.01, max_backoff_s=0.05)


def request(seed: int = 7) -> ChatRequest:
    return ChatRequest(
        system="Retell.",
        user="Text:\n\nthe quick brown fox",
        inputs=("the quick brown fox",),
        persona=BUILTIN_PERSONAS["editor"],
        task="summarize",
        seed=seed,
    )


async def serve(aiohttp_server, plan: FaultPlan):
    server = await aiohttp_server(create_stub_app(faults=plan))
    return server, str(server.make_url("/v1"))


TRANSPORTS = {"sdk": OpenAIChatBackend, "aiohttp": AiohttpChatBackend}


def backend(transport: str, url: str, policy: CallPolicy = FAST) -> RetryingBackend:
    """The openai backend on `transport` behind the one retry layer."""
    inner = TRANSPORTS[transport](base_url=url, api_key="k", model="m", timeout_s=policy.timeout_s)
    return RetryingBackend(inner, policy)


@pytest.mark.parametrize("fault", sorted(KIND_SEEN))
async def test_each_fault_is_retried_and_recorded(aiohttp_server, openai_transport, fault):
    """One fault of each kind, then a good answer: two calls, the fault named in `errors`."""
    server, url = await serve(
        aiohttp_server, FaultPlan(script=[fault], stall_s=3.0, retry_after_s=0.05)
    )
    chat = backend(openai_transport, url)
    try:
        completion = await chat.complete(request())
    finally:
        await chat.aclose()
    assert completion.text.startswith("m retells:")
    assert completion.attempts == 2
    assert [e.split(":")[0] for e in completion.errors] == [KIND_SEEN[fault]]
    assert len(server.app[REQUESTS]) == 2


async def test_retry_after_is_honoured(aiohttp_server, openai_transport):
    """A 429 asking for a one-second pause is retried no sooner, whatever the backoff says."""
    _, url = await serve(aiohttp_server, FaultPlan(script=["rate_limited"], retry_after_s=1.0))
    chat = backend(openai_transport, url)
    started = time.monotonic()
    try:
        completion = await chat.complete(request())
    finally:
        await chat.aclose()
    assert time.monotonic() - started >= 1.0
    assert completion.attempts == 2


async def test_a_huge_reply_is_cut_and_flagged(aiohttp_server, openai_transport):
    """A 1 MB reply is kept, cut at max_reply_chars, flagged, and not retried."""
    _, url = await serve(aiohttp_server, FaultPlan(script=["huge"]))
    chat = backend(openai_transport, url, CallPolicy(timeout_s=5.0, max_reply_chars=500))
    try:
        completion = await chat.complete(request())
    finally:
        await chat.aclose()
    assert (len(completion.text), completion.truncated, completion.attempts) == (500, True, 1)


async def test_retries_are_bounded_and_client_errors_not_retried(aiohttp_server, openai_transport):
    """Faults on every call give up after max_attempts; a 400 after one call."""
    server, url = await serve(aiohttp_server, FaultPlan(rate=1.0, kinds=("http_503",)))
    chat = backend(openai_transport, url)
    try:
        with pytest.raises(CallFailed, match=r"HTTP 503.*after 4 attempts") as failed:
            await chat.complete(request())
    finally:
        await chat.aclose()
    assert failed.value.attempts == 4 and len(failed.value.errors) == 4
    assert len(server.app[REQUESTS]) == 4
    bad = await aiohttp_server(create_stub_app(fail_status=400))
    chat = backend(openai_transport, str(bad.make_url("/v1")))
    try:
        with pytest.raises(CallFailed, match="HTTP 400") as failed:
            await chat.complete(request())
    finally:
        await chat.aclose()
    assert failed.value.attempts == 1 and failed.value.kind == "client_error"


async def fault_seen(transport: str, url: str, timeout_s: float = 5.0) -> tuple:
    """What one call without retries raises on `transport`: kind, retryable, wait asked."""
    chat = TRANSPORTS[transport](base_url=url, api_key="k", model="m", timeout_s=timeout_s)
    try:
        completion = await chat.complete(request())
    except BackendError as fault:
        return (fault.kind, fault.retryable, fault.retry_after_s, "HTTP" in str(fault))
    finally:
        await chat.aclose()
    return ("answered", completion.text[:20], len(completion.text), completion.usage)


async def test_both_transports_raise_the_same_faults(aiohttp_server):
    """Each injected fault, a 400 and a stall past the transport's own timeout: the SDK and
    the aiohttp transport raise the same kind, retry advice and wait. A closed port is a
    retryable fault on both (the SDK's aiohttp client calls it a timeout, the lean transport
    a connection error)."""
    bad = await aiohttp_server(create_stub_app(fail_status=400))
    closed = f"http://127.0.0.1:{free_port()}/v1"
    seen: dict[str, list[tuple]] = {}
    for transport in TRANSPORTS:  # a server per transport: each plays the script once
        _, url = await serve(
            aiohttp_server, FaultPlan(script=list(FAULT_KINDS), stall_s=1.0, retry_after_s=0.25)
        )
        urls = [url] * len(FAULT_KINDS) + [str(bad.make_url("/v1")), closed]
        seen[transport] = [await fault_seen(transport, url, timeout_s=0.3) for url in urls]
    sdk_closed, lean_closed = seen["sdk"].pop(), seen["aiohttp"].pop()
    assert seen["sdk"] == seen["aiohttp"]
    kinds = [outcome[0] for outcome in seen["sdk"]]
    answered = ("empty", "huge")  # the retry layer, not the transport, refuses an empty text
    expected = ["answered" if k in answered else KIND_SEEN[k] for k in FAULT_KINDS]
    assert kinds == [*expected, "client_error"]
    assert lean_closed == ("connection", True, None, False)
    assert sdk_closed[0] in ("connection", "timeout") and sdk_closed[1:] == lean_closed[1:]


def test_backoff_grows_exponentially_with_full_jitter():
    """Waits stay under backoff * 2**(n-1) capped at max_backoff, and never under Retry-After."""
    chat = RetryingBackend(
        OpenAIChatBackend(api_key="k"), CallPolicy(backoff_s=1.0, max_backoff_s=6.0)
    )
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 6.0), (9, 6.0)):
        waits = [chat.delay(attempt, None) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # jitter spreads over the whole range
    assert all(chat.delay(1, 3.0) >= 3.0 for _ in range(50))


def mixing_spec(url: str, rounds: int = 20, **calls: float) -> dict:
    spec = yaml.safe_load(MIXING.read_text())
    spec.update(
        backend="openai",
        base_url=url,
        model="stub-model",
        rounds=rounds,
        calls={
            "timeout_s": 1.0,
            "max_attempts": 8,
            "backoff_s": 0.01,
            "max_backoff_s": 0.05,
            "max_reply_chars": 4000,
            **calls,
        },
    )
    return spec


@pytest.mark.timeout(180)
async def test_mixing_example_survives_30_percent_faults(
    aiohttp_server, store, monkeypatch, openai_transport
):
    """Every fault kind at 30% of calls: the run succeeds; each message's attempts and errors
    match the faults the server injected for its step; no empty text is stored."""
    plan = FaultPlan(rate=0.3, stall_s=3.0, retry_after_s=0.05, seed=11)
    server, url = await serve(aiohttp_server, plan)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    experiment = load(mixing_spec(url))
    result = await Engine(experiment, store, run_id="faulty").run()
    assert result.status is RunStatus.SUCCEEDED

    calls_by_seed = Counter(body["seed"] for body in server.app[REQUESTS])
    injected: dict[int, list[str]] = defaultdict(list)
    for seed, kind in plan.injected:
        injected[seed].append(kind)
    model_messages = [m async for m in store.iter_messages("faulty") if m.origin == "model"]
    assert len(model_messages) > 500
    for message in model_messages:
        faults = injected.get(message.seed, [])
        assert message.attempts == calls_by_seed[message.seed]
        assert [e.split(":")[0] for e in message.errors] == [
            KIND_SEEN[k] for k in faults if k != "huge"
        ]
        assert message.truncated == (faults[-1:] == ["huge"])
        assert message.text.strip() and len(message.text) <= 4000
    assert sum(m.attempts > 1 for m in model_messages) > 100
    failed = await store.failed_steps("faulty")
    for step in failed:
        seed = backend_seed(experiment.spec.seed, 0, step.round, step.node)
        assert step.attempts == calls_by_seed[seed] == 8
    seen = Counter(KIND_SEEN.get(kind, "truncated") for _, kind in plan.injected)
    record = await store.get_run("faulty")
    expected = {**seen, **({"failed_step": len(failed)} if failed else {})}
    assert record["faults"] == expected == result.faults
    assert record["counts"]["llm_calls"] == len(server.app[REQUESTS])


@pytest.mark.timeout(120)
async def test_all_calls_failing_ends_the_run_failed_in_one_line(aiohttp_server, store, tmp_path):
    """At 100% server errors the CLI run ends `failed`, exit 1, with one error line."""
    _, url = await serve(aiohttp_server, FaultPlan(rate=1.0, kinds=("http_500", "empty")))
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(mixing_spec(url, rounds=3, max_attempts=3)))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENAI_API_KEY": "test-key",
        "DRIFTLAB_REDIS_URL": test_redis_url(),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", "run", str(spec_path), "--run-id", "doomed",
        "--out", str(tmp_path / "out"), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 100)
    errors = [line for line in stderr.decode().splitlines() if line.startswith("error")]
    assert process.returncode == 1, stderr.decode()
    assert len(errors) == 1 and "Traceback" not in stderr.decode()
    assert "agent steps failed" in errors[0] and "after 3 attempts" in errors[0]
    record = await store.get_run("doomed")
    assert record["status"] == "failed"
    assert record["counts"]["failed_steps"] > 0


@pytest.mark.timeout(120)
async def test_a_failed_run_writes_its_out_and_counts_its_calls(aiohttp_server, store, tmp_path):
    """Calls succeed, then every call fails: the CLI run ends `failed` (exit 1) and still writes
    its --out: the messages stored before, its failed steps, and a manifest whose counts (as the
    run record's) hold every call the server answered."""
    plan = FaultPlan(script=[None] * 12, rate=1.0, kinds=("http_500",))
    server, url = await serve(aiohttp_server, plan)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(mixing_spec(url, rounds=6, max_attempts=2)))
    out = tmp_path / "out"
    process = await cli_process(
        "run", str(spec_path), "--run-id", "half", "--out", str(out),
        cwd=tmp_path, OPENAI_API_KEY="test-key",
    )  # fmt: skip
    code, _, stderr = await cli_result(process, 100)
    assert code == 1, stderr
    assert "Traceback" not in stderr
    messages = [json.loads(line) for line in (out / "messages.jsonl").read_text().splitlines()]
    failed = (out / "failed_steps.jsonl").read_text().splitlines()
    manifest = json.loads((out / "manifest.json").read_text())
    record = await store.get_run("half")
    calls = len(server.app[REQUESTS])
    assert any(m["origin"] == "model" for m in messages) and failed
    assert manifest["status"] == record["status"] == "failed"
    assert "agent steps failed" in manifest["error"]
    assert manifest["counts"]["llm_calls"] == record["counts"]["llm_calls"] == calls > 12
    assert manifest["counts"]["failed_steps"] == len(failed)
    assert manifest["counts"]["messages"] == len(messages)
