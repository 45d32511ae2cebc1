"""Running a spec end to end through `service.lifecycle.run_spec`, the function every face calls."""

from __future__ import annotations

import asyncio

import pytest

from service.errors import RunExists
from service.experiment.experiment import load
from service.lifecycle import RunHooks, run_spec
from tests.conftest import spec_dict


async def test_run_spec_runs_exports_and_reports(store, tmp_path):
    notices: list[str] = []
    started: list[str] = []
    rounds: list[int] = []
    hooks = RunHooks(
        notice=notices.append,
        started=lambda run_id, experiment: started.append(run_id),
        round=lambda report: rounds.append(report.round),
    )
    done = await run_spec(
        load(spec_dict(rounds=3)), store, run_id="r1", out_dir=tmp_path / "o", hooks=hooks
    )
    assert done.result.status == "succeeded"
    assert started == ["r1"] and rounds == [0, 1, 2]
    assert (tmp_path / "o" / "messages.jsonl") in done.written
    assert done.result.counts["messages"] == await store.count_messages("r1")


async def test_two_runs_with_one_id_started_together_exactly_one_proceeds(
    store, tmp_path, monkeypatch
):
    """Both pass the early check at the same moment (it is made to see nothing, as when two
    processes check together); the atomic claim lets only one of them run."""

    async def nothing_stored_yet(run_id: str) -> bool:
        return False

    monkeypatch.setattr(store, "run_exists", nothing_stored_yet)
    spec = spec_dict(
        rounds=4,
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 40, "human_sources": 2},
    )
    outcomes = await asyncio.gather(
        *(run_spec(load(spec), store, run_id="same", out_dir=tmp_path / str(i)) for i in range(2)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, RunExists)]
    finished = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(refused) == 1 and len(finished) == 1, outcomes
    result = finished[0].result
    assert result.status == "succeeded"
    assert result.counts["messages"] == await store.count_messages("same")
    monkeypatch.undo()
    with pytest.raises(RunExists, match="already exists"):
        await run_spec(load(spec), store, run_id="same", out_dir=tmp_path / "again")
