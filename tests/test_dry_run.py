"""The dry run (service/experiment/dry_run.py) replays the engine's rule of who acts."""

from __future__ import annotations

from service.experiment.dry_run import estimate
from service.experiment.experiment import load
from service.run.engine import Engine
from tests.conftest import spec_dict


def test_a_line_has_one_call_per_agent_and_round_it_reaches():
    est = estimate(load(spec_dict(topology={"kind": "line", "n_agents": 3}, rounds=2)))
    assert (est.agents, est.human_sources, est.rounds) == (3, 1, 2)
    assert (est.llm_calls, est.human_messages) == (2, 1)
    assert est.total_tokens == est.prompt_tokens + est.completion_tokens > 0


async def test_the_estimate_matches_a_run_that_never_stays_silent(store):
    """With a policy that always reads something, every estimated call happens."""
    spec = spec_dict(
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 80, "human_sources": 3},
        rounds=6,
        injection={"rate": 0.3},
        human_corpus=["A fresh account.", "Another account."],
    )
    est = estimate(load(spec))
    result = await Engine(load(spec), store, run_id="dry").run()
    assert result.counts["skips"] == 0
    assert (est.llm_calls, est.human_messages) == (result.counts["model"], result.counts["human"])
