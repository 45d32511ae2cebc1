"""Per-run budgets of LLM calls and tokens, and the response cache, against the real Redis."""

from __future__ import annotations

import pytest
import yaml

from agents.openai_chat import OpenAIChatBackend
from agents.openai_faults import FaultPlan
from agents.openai_stub import REQUESTS, create_stub_app
from agents.retrying import CallFailed, CallPolicy, RetryingBackend
from service.experiment.experiment import load
from service.provenance import keys
from service.run.engine import Engine
from service.run.response_cache import CachingBackend, request_digest
from service.status import RunStatus
from tests.conftest import spec_dict
from tests.test_cli import driftlab
from tests.test_faults import request


async def stored(store, run_id):
    return sorted([m async for m in store.iter_messages(run_id)], key=lambda m: m.id)


@pytest.mark.parametrize("workers", [1, 2])
async def test_call_budget_ends_the_run_budget_exceeded(store, workers):
    """A budget of 4 calls on a chain, in process or in step workers: four retellings stored
    and counted, then the run ends `budget_exceeded` with the reason kept."""
    spec = spec_dict(
        workers=workers,
        rounds=10,
        topology={"kind": "line", "n_agents": 10},
        budget={"max_calls": 4},
    )
    result = await Engine(load(spec), store, run_id="thrifty").run()
    assert result.status is RunStatus.BUDGET_EXCEEDED
    messages = await stored(store, "thrifty")
    assert sum(m.origin == "model" for m in messages) == 4 == result.counts["model"]
    assert result.counts["messages"] == len(messages)
    record = await store.get_run("thrifty")
    assert record["status"] == "budget_exceeded"
    assert "max_calls=4" in record["error"]
    assert await store.failed_steps("thrifty") == []


async def test_token_budget_counts_tokens_across_calls(openai_endpoint, store):
    """A token budget stops the run once the calls' reported tokens reach it."""
    await openai_endpoint()
    spec = spec_dict(
        backend="openai",
        rounds=10,
        topology={"kind": "line", "n_agents": 10},
        budget={"max_tokens": 300},
    )
    result = await Engine(load(spec), store, run_id="tokens").run()
    assert result.status is RunStatus.BUDGET_EXCEEDED
    used = result.counts["prompt_tokens"] + result.counts["completion_tokens"]
    assert used >= 300
    model = [m for m in await stored(store, "tokens") if m.origin == "model"]
    assert used - model[-1].usage.total_tokens < 300  # stopped at the first call past it


async def test_budget_exceeded_cli_exits_1_and_exports(tmp_path, redis):
    """`driftlab run` over budget prints why, writes the files and exits 1."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            spec_dict(rounds=10, topology={"kind": "line", "n_agents": 10}, budget={"max_calls": 2})
        )
    )
    result = driftlab("run", str(spec), "--run-id", "cli-budget", "--out", "out", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "budget_exceeded" in result.stdout
    assert "error: round 3: the run's budget is spent" in result.stderr
    assert (tmp_path / "out" / "messages.jsonl").read_text().count("\n") == 3


async def test_cache_answers_a_repeated_run_without_calls(openai_endpoint, store):
    """With the cache on, a second run of the same spec gets every answer from Redis: the
    endpoint sees no new call, texts are identical, messages say `cached`."""
    server = await openai_endpoint()
    spec = spec_dict(backend="openai", rounds=4, cache=True)
    await Engine(load(spec), store, run_id="first").run()
    calls = len(server.app[REQUESTS])
    assert calls > 0
    await Engine(load(spec), store, run_id="second").run()
    assert len(server.app[REQUESTS]) == calls
    first, second = await stored(store, "first"), await stored(store, "second")
    assert [m.text for m in first] == [m.text for m in second]
    model = [m for m in second if m.origin == "model"]
    assert all(m.cached and m.attempts == 0 for m in model)
    assert not any(m.cached for m in first)


async def test_cache_is_off_by_default(openai_endpoint, store):
    """Without `cache`, the same spec run twice calls the endpoint twice as often."""
    server = await openai_endpoint()
    spec = spec_dict(backend="openai", rounds=3)
    await Engine(load(spec), store, run_id="a").run()
    calls = len(server.app[REQUESTS])
    await Engine(load(spec), store, run_id="b").run()
    assert len(server.app[REQUESTS]) == 2 * calls
    assert await store.redis.keys(f"{keys.PREFIX}:cache:*") == []


async def test_errors_are_never_cached_and_the_key_holds_the_seed(aiohttp_server, redis):
    """A failed request leaves nothing in the cache; the next succeeds and is kept; the same
    request is then answered from Redis, another seed is not."""
    server = await aiohttp_server(create_stub_app(faults=FaultPlan(script=["http_500"])))
    inner = OpenAIChatBackend(base_url=str(server.make_url("/v1")), api_key="k", model="m")
    chat = CachingBackend(
        RetryingBackend(inner, CallPolicy(max_attempts=1)), "openai|stub|m", redis, 60
    )
    try:
        with pytest.raises(CallFailed):
            await chat.complete(request(seed=1))
        digest = request_digest("openai|stub|m", request(seed=1))
        assert await redis.get(keys.cached_completion(digest)) is None
        fresh = await chat.complete(request(seed=1))
        again = await chat.complete(request(seed=1))
        await chat.complete(request(seed=2))
    finally:
        await chat.aclose()
    assert (fresh.cached, again.cached, again.text) == (False, True, fresh.text)
    assert len(server.app[REQUESTS]) == 3
