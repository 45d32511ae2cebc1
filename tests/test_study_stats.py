"""A study's statistics: the run is the unit, replicates are paired, Holm corrects, power
gives replicates needed, intervals of proportions stay in [0, 1], one silence rule, the
summary is recomputable from runs.csv, and A/A comparisons are rarely supported."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from pathlib import Path

import hypothesis.strategies as st
import yaml
from hypothesis import given, settings
from scipy import stats as scipy_stats

from service.experiment.settings import Settings
from service.run.engine import Engine
from service.study.comparisons import study_stats
from service.study.inference import (
    holm,
    paired_power,
    paired_test,
    replicate_mean,
    replicates_needed,
)
from service.study.outcomes import RunOutcome, read_runs_csv, run_outcomes
from service.study.results import RunInfo, StudyData, collect
from service.study.run_study import run_study
from service.study.runner import Prepared, prepare_runs
from service.study.spec import StudySpec, aa_study, plan
from tests.conftest import spec_dict
from tests.test_cli import driftlab

BASE = Path(__file__).parent / "data" / "study-base.yaml"


# --- inference over replicates --------------------------------------------------------------


def test_paired_test_is_the_paired_t_test() -> None:
    """Difference, p and the interval agree with scipy's paired t test and its t interval."""
    rng = random.Random(4)
    treated = [rng.gauss(0.5, 0.1) for _ in range(12)]
    baseline = [t - 0.04 + rng.gauss(0, 0.05) for t in treated]
    test = paired_test(treated, baseline)
    reference = scipy_stats.ttest_rel(treated, baseline)
    assert test is not None and test.n == 12
    assert math.isclose(test.p, reference.pvalue, rel_tol=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert math.isclose(test.ci_low, low) and math.isclose(test.ci_high, high)
    assert math.isclose(test.d_z, test.difference / test.sd)


def test_paired_test_without_spread_and_too_few_pairs() -> None:
    """Identical differences give p 0 (or 1 when all are 0); one pair gives no test."""
    same = paired_test([0.5, 0.6], [0.5, 0.6])
    shifted = paired_test([0.6, 0.7], [0.5, 0.6])
    assert same is not None and same.p == 1.0 and same.d_z == 0.0
    assert shifted is not None and shifted.p == 0.0 and shifted.d_z == math.inf
    assert paired_test([1.0], [0.0]) is None


def test_holm_adjusts_step_down_in_the_given_order() -> None:
    """Holm: sorted p times (m - rank), made monotone, returned in the input order."""
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm([0.5, 0.001]) == [0.5, 0.002]
    assert holm([]) == []


def test_replicates_needed_reaches_80_percent_power_and_no_fewer() -> None:
    """d_z = 0.5 needs 34 pairs (the textbook value); power is >= 0.8 there and < 0.8 one
    pair below; a tiny effect is not detectable within the cap; a zero effect never."""
    assert replicates_needed(0.5) == 34
    n = replicates_needed(0.3, alpha=0.05 / 3)
    assert n is not None
    assert paired_power(0.3, n, 0.05 / 3) >= 0.8 > paired_power(0.3, n - 1, 0.05 / 3)
    assert replicates_needed(0.01) is None
    assert replicates_needed(2.47, alpha=0.005) == 6  # where scipy's nct gives nan above
    for d_z in (1.0, 2.47, 4.75, 8.0):
        powers = [paired_power(d_z, n, 0.005) for n in range(2, 80)]
        assert all(0 <= p <= 1 for p in powers)
        assert all(b >= a - 1e-6 for a, b in itertools.pairwise(powers))
    assert replicates_needed(0.0) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=12))
def test_intervals_of_proportions_stay_inside_0_1(values: list[float]) -> None:
    """The interval of a mean proportion never leaves [0, 1] and holds the mean."""
    m = replicate_mean(values, bounded=True)
    assert m.mean is not None and m.ci_low is not None and m.ci_high is not None
    assert 0.0 <= m.ci_low <= m.mean + 1e-12 and m.mean - 1e-12 <= m.ci_high <= 1.0


# --- the unit, pairing, silence ---------------------------------------------------------------


def _outcome(condition: str, replicate: int, value: float, **labels: str) -> RunOutcome:
    return RunOutcome(
        run=f"{condition}-{replicate}",
        condition=condition,
        replicate=replicate,
        seed=1,
        graph_seed=1,
        labels=labels,
        final=value,
        population=value,
        spoke_share=1.0,
    )


def test_each_condition_is_compared_with_the_baseline_on_its_own_text() -> None:
    """With a source axis, a condition meets the baseline of its own text, replicate by
    replicate, and never the baseline of another text: an effect of +0.1 on each text is
    found exactly, though the texts differ by 0.5."""
    runs = []
    for text, level in (("ferry", 0.2), ("bridge", 0.7)):
        for policy, shift in (("all", 0.0), ("label", 0.1)):
            name = f"policy={policy}, source={text}"
            for r in reversed(range(6)):  # order must not matter, the replicate index does
                noise = 0.05 * math.sin(r)
                runs.append(_outcome(name, r, level + shift + noise, policy=policy, source=text))
    result = study_stats(runs, outcome="fact_retention", baseline="policy=all, source=ferry")
    final = [c for c in result.comparisons if c.measure == "final"]
    assert [(c.condition, c.baseline) for c in final] == [
        ("policy=label, source=ferry", "policy=all, source=ferry"),
        ("policy=label, source=bridge", "policy=all, source=bridge"),
    ]
    for comparison in final:
        assert comparison.test is not None and comparison.test.n == 6
        assert math.isclose(comparison.test.difference, 0.1)
        assert comparison.supported
    assert {c.measure for c in result.comparisons} == {"final", "population", "spoke_share"}


def _silent_data(outcome_values: dict[str, float]) -> StudyData:
    """One run of agents a, b, c over 2 rounds: a and b speak (latest texts with the given
    values), c never does."""
    rows = [
        {"run": "r", "origin": "model", "round": 0, "node": "a", "drift.fact_retention": 0.2},
        {"run": "r", "origin": "model", "round": 1, "node": "a", **outcome_values},
        {"run": "r", "origin": "model", "round": 1, "node": "b", **outcome_values},
    ]
    info = RunInfo("r", "c", 0, ["a", "b", "c"], 2, "all", {"x": "1"}, 1, 7, 7)
    return StudyData(rows, [info], ["c"], {"x": {"1": 1}})


def test_silence_is_scored_as_the_empty_text_for_every_metric() -> None:
    """An agent that never spoke counts as the empty text (0) in the population value of
    retention and of length alike; the speakers' value and the spoke share are beside it;
    with no value for the empty text (embedding distance) the population value is None."""
    data = _silent_data(
        {"drift.fact_retention": 0.6, "drift.length_words": 30.0, "drift.euclidean": 0.4}
    )
    retention = run_outcomes(data, "fact_retention")[0]
    assert math.isclose(retention.speakers, 0.6) and math.isclose(retention.population, 0.4)
    assert math.isclose(retention.spoke_share, 2 / 3)
    assert math.isclose(retention.final_spoke_share, 2 / 3)
    assert math.isclose(retention.turns_spoken, 3 / 4)
    length = run_outcomes(data, "length_words")[0]
    assert math.isclose(length.speakers, 30.0) and math.isclose(length.population, 20.0)
    distance = run_outcomes(data, "euclidean")[0]
    assert distance.speakers == 0.4 and distance.population is None


# --- a study end to end -----------------------------------------------------------------------


def test_the_summary_is_recomputed_from_runs_csv(tmp_path) -> None:
    """`driftlab study --aa`: runs.csv has one row per run (condition, replicate, seeds,
    outcomes, spoke share); the statistics recomputed from it equal summary.json's; the
    manifest says the pair shares its graph seed and not its dynamics seed; 3 replicates
    print the unreliable-intervals warning."""
    study = tmp_path / "study.yaml"
    study.write_text(
        yaml.safe_dump(
            {
                "name": "s",
                "base": str(BASE),
                "set": {"rounds": 3},
                "grid": {"injection.rate": [0, 0.8]},
                "replicates": 3,
            }
        )
    )
    result = driftlab("study", str(study), "--aa", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "unreliable below 5" in result.stderr
    out = tmp_path / "studies" / "s-aa"
    runs = read_runs_csv(out / "runs.csv")
    assert [(r.condition, r.replicate) for r in runs] == [
        (c, i) for c in ("seed=A", "seed=A'") for i in range(3)
    ]
    assert all(r.final is not None and r.spoke_share is not None for r in runs)
    recomputed = study_stats(runs, outcome="fact_retention", baseline="seed=A").to_json()
    written = json.loads((out / "summary.json").read_text())
    assert {k: written[k] for k in recomputed} == recomputed
    assert written["conditions"][0]["means"]["final"]["n"] == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pairing"]["shared"] == ["graph_seed"]
    assert {r.seed for r in runs} == {4, 4 + 1_000_003}
    summary = (out / "summary.md").read_text()
    assert "| seed=A' | seed=A | final round | 3 |" in summary


async def _run_engines(prepared: list[Prepared], store, parallel: int = 8) -> None:
    """The runs of a study through the engine, without the per-run file export."""
    gate = asyncio.Semaphore(parallel)

    async def one(item: Prepared) -> None:
        async with gate:
            planned = item.planned
            engine = Engine(
                item.experiment, store, run_id=planned.run_id, replicate=planned.replicate
            )
            await engine.run()

    await asyncio.gather(*(one(item) for item in prepared))


async def test_aa_comparisons_are_supported_at_most_at_the_nominal_rate(store) -> None:
    """40 A/A studies (the baseline against itself with independent dynamics seeds, 5
    replicates each, a 3-agent chain over 3 rounds on the synthetic backend): at most 10% of
    their comparisons of the final round, and of the population, come out supported."""
    started = time.perf_counter()
    base = spec_dict(topology={"kind": "line", "n_agents": 3}, rounds=3)
    prepared = []
    for k in range(40):
        seeded = {**base, "seed": 100 + 17 * k}
        study = aa_study(StudySpec(name=f"aa{k}", base=seeded, grid={"rounds": [3]}), seeded)
        prepared += prepare_runs(plan(study, seeded, 5), Settings(), {})
    await _run_engines(prepared, store)
    data = await collect(store, prepared)
    runs = run_outcomes(data, "fact_retention")
    supported = {"final": 0, "population": 0}
    tested = dict.fromkeys(supported, 0)
    for k in range(40):
        pair = [r for r in runs if r.run.startswith(f"aa{k}-aa-")]
        assert len(pair) == 10
        result = study_stats(pair, outcome="fact_retention", baseline=pair[0].condition)
        for comparison in result.comparisons:
            if comparison.measure in supported and comparison.test is not None:
                tested[comparison.measure] += 1
                supported[comparison.measure] += comparison.supported
    assert tested == {"final": 40, "population": 40}
    assert supported["final"] <= 4 and supported["population"] <= 4, supported
    assert time.perf_counter() - started < 120


async def test_replicates_auto_adds_replicates_up_to_the_cap(tmp_path, store) -> None:
    """`replicates: auto` with a width the first 5 replicates reach stops there; started
    again with an unreachable width, it keeps those runs and adds replicates up to the cap."""
    base = spec_dict(human_corpus=["A fresh human retelling of the source."])
    for width, expected, ran in ((10.0, 5, 10), (1e-9, 6, 2)):
        study = StudySpec(
            name="auto",
            base=base,
            grid={"injection.rate": [0, 0.5]},
            replicates="auto",
            replicates_cap=6,
            target_ci_width=width,
        )

        def replan(replicates: int | None = None, study: StudySpec = study) -> list[Prepared]:
            return prepare_runs(plan(study, base, replicates), Settings(), {})

        out = tmp_path / f"w{width}"
        outcome = await run_study(study, replan(), store, out, replan=replan)
        runs = read_runs_csv(out / "runs.csv")
        assert sorted({r.replicate for r in runs}) == list(range(expected))
        assert len(outcome.runs.ran) == ran
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["replicates"] == "auto" and manifest["replicates_run"] == expected
