"""BackendPool: shared backends, closed together; the null backend."""

from __future__ import annotations

import pytest

from agents.backend import ChatRequest, Completion
from agents.null_backend import NULL_TEXT
from agents.pool import BackendConfig, BackendPool
from service.experiment.experiment import load
from service.run.engine import Engine
from tests.conftest import spec_dict


class ClosingBackend:
    """A backend that records its close, and fails it when told to."""

    name = "closing"

    def __init__(self, closed: list[str], label: str, fails: bool) -> None:
        self.closed, self.label, self.fails = closed, label, fails

    async def complete(self, request: ChatRequest) -> Completion:
        return Completion(text="", model=self.label)

    async def aclose(self) -> None:
        self.closed.append(self.label)
        if self.fails:
            raise OSError(f"{self.label} failed to close")


@pytest.mark.parametrize("failing", [("b",), ("a", "c")])
async def test_every_backend_is_closed_even_when_one_fails(failing):
    closed: list[str] = []
    backends = {
        BackendConfig(kind="synthetic", model=label): ClosingBackend(
            closed, label, label in failing
        )
        for label in "abc"
    }
    with pytest.raises((OSError, ExceptionGroup)) as caught:
        async with BackendPool(backends):
            pass
    assert closed == ["a", "b", "c"]
    raised = caught.value.exceptions if isinstance(caught.value, ExceptionGroup) else [caught.value]
    assert sorted(str(e) for e in raised) == [f"{label} failed to close" for label in failing]


async def test_a_pool_shares_one_backend_per_configuration():
    async with BackendPool() as pool:
        config = BackendConfig(kind="synthetic", model="synthetic")
        assert pool.get(config) is pool.get(BackendConfig(kind="synthetic", model="synthetic"))


async def test_the_null_backend_runs_a_network_with_one_fixed_text(store):
    """The null backend (benchmarks, tests): every model message is the same fixed text."""
    spec = spec_dict(
        backend="null",
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 30, "human_sources": 2},
    )
    result = await Engine(load(spec), store, run_id="null").run()
    texts = {m.text async for m in store.iter_messages("null") if m.origin == "model"}
    assert result.counts["model"] > 20 and texts == {NULL_TEXT}
