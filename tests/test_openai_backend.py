"""The openai backend and embedder against a real aiohttp server speaking the OpenAI protocol."""

from __future__ import annotations

import numpy as np
import pytest

from agents.backend import BackendError
from agents.embedding import OpenAIEmbedder
from agents.openai_chat import OpenAIChatBackend
from agents.openai_http import AiohttpChatBackend, environment_proxy
from agents.openai_stub import REQUESTS
from agents.pool import BackendConfig, BackendPool
from service.errors import RunFailed
from service.experiment.experiment import load, open_embedder
from service.run.engine import Engine
from tests.conftest import free_port, spec_dict


@pytest.fixture
async def stub(openai_endpoint):
    return await openai_endpoint(jitter_s=0.01)


@pytest.mark.usefixtures("openai_transport")
async def test_line_on_the_openai_backend_records_usage_and_prompts(stub, store):
    """A 3-agent line through the endpoint: model, usage, fingerprint and prompts recorded."""
    spec = spec_dict(backend="openai", model="stub-model", rounds=3)
    result = await Engine(load(spec), store, run_id="oa").run()
    assert result.counts["model"] == 3
    messages = sorted(
        [m async for m in store.iter_messages("oa")], key=lambda m: (m.round, m.origin == "model")
    )
    agents = [m for m in messages if m.origin == "model"]
    sent = stub.app[REQUESTS]
    assert len(sent) == 3
    for message, body in zip(agents, sent, strict=True):
        assert message.backend == "openai"
        assert message.model == "stub-model"
        assert message.system_fingerprint == "fp_stub"
        assert (
            message.usage.total_tokens
            == (message.usage.prompt_tokens + message.usage.completion_tokens)
            > 0
        )
        assert body["messages"][0] == {"role": "system", "content": message.system}
        assert body["messages"][1] == {"role": "user", "content": message.prompt}
        assert body["seed"] == message.seed
        assert body["temperature"] == message.temperature
        assert message.text.startswith("stub-model retells:")
    assert result.counts["prompt_tokens"] == sum(m.usage.prompt_tokens for m in agents)


@pytest.mark.usefixtures("openai_transport")
async def test_model_defaults_to_gpt_4o_mini(stub, store):
    """Without a model the openai backend asks for gpt-4o-mini."""
    await Engine(load(spec_dict(backend="openai", rounds=1)), store, run_id="d").run()
    assert stub.app[REQUESTS][0]["model"] == "gpt-4o-mini"


@pytest.mark.usefixtures("openai_transport")
async def test_persona_model_overrides_the_spec_model(stub, store):
    """An inline persona's model wins over the spec's."""
    persona = {"name": "custom", "system": "You retell.", "model": "persona-model"}
    spec = spec_dict(backend="openai", model="spec-model", personas=[persona], rounds=1)
    await Engine(load(spec), store, run_id="p").run()
    assert stub.app[REQUESTS][0]["model"] == "persona-model"


@pytest.mark.usefixtures("openai_transport")
async def test_completion_order_does_not_change_results(stub, store):
    """With jittered latency, concurrency 1 and 32 store the same texts and parents."""
    common = dict(
        backend="openai",
        rounds=4,
        personas=["editor", "skeptic"],
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 16, "k": 4},
        provenance={"tag_loss": 0.5, "detector": {"tpr": 0.7, "fpr": 0.2}},
    )
    results = {}
    for run_id, concurrency in (("one", 1), ("many", 32)):
        await Engine(load(spec_dict(concurrency=concurrency, **common)), store, run_id=run_id).run()
        messages = [m async for m in store.iter_messages(run_id)]
        results[run_id] = sorted(
            (
                m.round,
                m.node,
                m.text,
                m.generation,
                tuple(p.split(":", 1)[1] for p in m.parents),
                tuple(sorted((k, v.origin) for k, v in m.observed.items())),
            )
            for m in messages
        )
    assert results["one"] == results["many"]
    assert len(results["one"]) > 20


@pytest.mark.usefixtures("openai_transport")
@pytest.mark.parametrize("workers", [1, 2])
async def test_endpoint_errors_fail_the_run_with_a_clear_error(openai_endpoint, store, workers):
    """An endpoint answering 400 (not worth a retry) fails every step of the round, in the
    engine's process or in step workers, so the run fails; the record says why, and the
    failed step is kept with its reason."""
    server = await openai_endpoint(fail_status=400)
    spec = spec_dict(backend="openai", rounds=1, workers=workers)
    with pytest.raises(RunFailed, match=r"1 of 1 agent steps failed.*openai backend.*HTTP 400"):
        await Engine(load(spec), store, run_id="bad").run()
    record = await store.get_run("bad")
    assert record["status"] == "failed"
    assert "400" in record["error"]
    assert len(server.app[REQUESTS]) == 1
    [failed] = await store.failed_steps("bad")
    assert (failed.node, failed.kind, failed.attempts) == ("a0", "client_error", 1)


@pytest.mark.usefixtures("openai_transport")
async def test_the_transport_is_chosen_by_the_environment(monkeypatch):
    """DRIFTLAB_OPENAI_TRANSPORT picks the SDK or the aiohttp transport; a typo is refused
    by name, listing the choices."""
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    config = BackendConfig(kind="openai", model="m")
    for transport, chosen in (("", OpenAIChatBackend), ("aiohttp", AiohttpChatBackend)):
        monkeypatch.setenv("DRIFTLAB_OPENAI_TRANSPORT", transport)
        async with BackendPool() as pool:
            assert isinstance(pool.get(config).inner, chosen)
    monkeypatch.setenv("DRIFTLAB_OPENAI_TRANSPORT", "httpx")
    with pytest.raises(BackendError, match=r"'httpx' is not a transport.*'sdk', 'aiohttp'"):
        BackendPool().get(config)


def test_the_aiohttp_transport_takes_its_proxy_from_the_environment(monkeypatch):
    """HTTPS_PROXY applies to an https endpoint unless NO_PROXY names its host."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.test")
    assert environment_proxy("https://api.test/v1/chat/completions") == "http://proxy.test:3128"
    assert environment_proxy("https://internal.test/v1/chat/completions") is None
    assert environment_proxy("http://api.test/v1/chat/completions") is None


@pytest.mark.usefixtures("openai_transport")
async def test_missing_api_key_is_a_clear_error(monkeypatch, store):
    """Without OPENAI_API_KEY the openai backend refuses with instructions, writing nothing."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        await Engine(load(spec_dict(backend="openai", rounds=1)), store, run_id="nokey").run()
    assert await store.list_runs() == []


async def test_openai_embedder_batches_and_keeps_order(stub):
    """The embedder returns one vector per text, in order, across several batches."""
    embedder = OpenAIEmbedder(batch_size=2)
    texts = ["red car fast", "blue boat slow", "red car fast", "green tree"]
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.aclose()
    assert vectors.shape == (4, 64)
    assert np.allclose(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])
    assert len(stub.app[REQUESTS]) == 2
    assert stub.app[REQUESTS][0]["model"] == "text-embedding-3-small"


async def test_engine_embeds_sampled_messages(stub, store):
    """With an embedder, sampled messages get Euclidean and cosine distances to the original."""
    spec = spec_dict(
        rounds=3,
        embedder="openai",
        embed_sample=1,
        topology={"kind": "tree", "branching": 2, "depth": 2},
    )
    embedder = OpenAIEmbedder()
    try:
        result = await Engine(load(spec), store, run_id="e", embedder=embedder).run()
    finally:
        await embedder.aclose()
    distances = await store.embeddings("e")
    assert len(distances) == len(result.drift)
    rows = {r["generation"]: r for r in result.drift}
    assert rows[0]["euclidean"] == pytest.approx(0.0, abs=1e-6)
    assert all(r["n_embedded"] == 1 for r in result.drift)
    assert rows[2]["n"] == 2
    assert all(v["cosine"] >= -1e-9 for v in distances.values())


async def test_an_embedder_that_cannot_open_skips_the_metrics(monkeypatch, store):
    """Without an API key the openai embedder is skipped with a notice; the run succeeds."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    experiment, embedder = open_embedder(load(spec_dict(embedder="openai", rounds=2)))
    assert embedder is None and experiment.embedder == "none"
    assert any("OPENAI_API_KEY" in n for n in experiment.notices)
    result = await Engine(experiment, store, run_id="skip").run()
    assert result.status == "succeeded" and result.drift[1]["euclidean"] is None


async def test_an_embedder_failing_at_the_end_keeps_the_run(monkeypatch, store):
    """An embeddings endpoint that cannot be reached leaves the run succeeded, with a notice."""
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    experiment, embedder = open_embedder(load(spec_dict(embedder="openai", rounds=2)))
    try:
        result = await Engine(experiment, store, run_id="late", embedder=embedder).run()
    finally:
        await embedder.aclose()
    assert result.status == "succeeded"
    assert any(n.startswith("embedding metrics skipped") for n in result.notices)
    assert await store.count_messages("late") == 3


def test_missing_local_embedder_falls_back_to_none(monkeypatch):
    """Naming the local embedder without the extra installed falls back to none, noticed."""
    monkeypatch.setattr("service.experiment.experiment.local_embedder_installed", lambda: False)
    experiment = load(spec_dict(embedder="local"))
    assert experiment.embedder == "none"
    assert any("not installed" in n for n in experiment.notices)
