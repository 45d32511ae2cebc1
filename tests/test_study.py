"""driftlab study: spec validation, the grid, resumable runs through run_spec, the outputs,
and a real property of the synthetic model (fresh human text lowers drift)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from service.errors import SpecError
from service.experiment.settings import Settings
from service.provenance import keys
from service.study.comparisons import study_stats
from service.study.outcomes import run_outcomes
from service.study.results import collect
from service.study.runner import prepare_runs, run_all
from service.study.spec import StudySpec, conditions, plan, read_study
from tests.conftest import spec_dict
from tests.test_cli import driftlab

BASE = Path(__file__).parent / "data" / "study-base.yaml"


def write_study(path: Path, **fields) -> Path:
    study = {"name": "s", "base": str(BASE), "grid": {"injection.rate": [0, 0.8]}, **fields}
    path.write_text(yaml.safe_dump(study))
    return path


def _curve(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- the grid -------------------------------------------------------------------------------


def test_conditions_cross_every_axis_with_labels_and_dotted_paths() -> None:
    """Two axes of 2 and 3 values give 6 conditions in grid order; each sets its dotted path
    on its own copy of the base, and dict values are labelled by their kind."""
    study = StudySpec(
        base={},
        grid={
            "topology": [{"kind": "line", "n_agents": 4}, {"kind": "tree", "n_agents": 4}],
            "provenance.tag_loss": [0.0, 0.3, 0.7],
        },
    )
    base = spec_dict()
    cells = conditions(study, base)
    assert len(cells) == 6
    assert cells[0].name == "topology=line, provenance.tag_loss=0.0"
    assert cells[5].labels == {"topology": "tree", "provenance.tag_loss": "0.7"}
    assert cells[4].raw["provenance"] == {"tag_loss": 0.3}
    assert cells[4].raw["topology"] == {"kind": "tree", "n_agents": 4}
    assert "provenance" not in base


def test_source_variants_are_one_more_axis() -> None:
    """Each source variant replaces source and human_corpus; labelled by its name."""
    study = StudySpec(
        base={},
        grid={"rounds": [2]},
        source_variants=[
            {"name": "short", "text": "A short text.", "human_corpus": ["x"]},
            {"text": "Another text.", "facts": [{"name": "a", "patterns": ["another"]}]},
        ],
    )
    cells = conditions(study, spec_dict())
    assert [c.labels["source"] for c in cells] == ["short", "source1"]
    assert cells[0].raw["source"] == {"text": "A short text.", "facts": []}
    assert cells[0].raw["human_corpus"] == ["x"]
    assert cells[1].raw["source"]["facts"] == [{"name": "a", "patterns": ["another"]}]


def test_run_ids_are_deterministic_per_condition_and_replicate() -> None:
    """The same study plans the same ids; replicates and conditions get different ones;
    vary_graph gives each replicate its own graph seed and keeps the dynamics seed."""
    study = StudySpec(base={}, grid={"injection.rate": [0, 0.5]}, replicates=2)
    first, again = plan(study, spec_dict()), plan(study, spec_dict())
    assert [p.run_id for p in first] == [p.run_id for p in again]
    assert len({p.run_id for p in first}) == 4
    assert [p.replicate for p in first] == [0, 1, 0, 1]
    assert {p.raw["seed"] for p in first} == {5}
    varied = plan(study.model_copy(update={"vary_graph": True}), spec_dict())
    assert [p.raw["graph_seed"] for p in varied] == [5, 6, 5, 6]
    assert {p.raw["seed"] for p in varied} == {5}
    assert all("graph_seed" not in p.raw for p in first)


def test_unknown_baseline_is_a_spec_error() -> None:
    """A baseline that names no condition is refused, naming the field."""
    study = StudySpec(base={}, grid={"rounds": [2, 3]}, baseline="rounds=9")
    with pytest.raises(SpecError) as caught:
        plan(study, spec_dict())
    assert caught.value.problems[0].field == "baseline"


# --- bad study specs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"gird": {"rounds": [2]}}, "gird: unknown study field"),
        ({"grid": {}}, "the grid is empty"),
        ({"grid": {"injection.rate": []}}, "grid.injection.rate has no values"),
        ({"replicates": 0}, "replicates"),
        ({"grid": {"injection.rat": [0.1]}}, "injection.rat: unknown field"),
        ({"grid": {"injection.rate": [2.0]}}, "injection.rate"),
        ({"base": "missing.yaml"}, "base: no spec file 'missing.yaml'"),
        ({"baseline": "nothing"}, "baseline"),
    ],
)
async def test_bad_study_specs_exit_2_naming_the_field(tmp_path, redis, fields, expected):
    """Unknown fields, an empty grid or axis, a grid path the experiment spec does not know,
    a bad value and a missing base: one clear message, exit code 2, nothing run."""
    study = write_study(tmp_path / "study.yaml", **fields)
    result = driftlab("study", str(study), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "studies").exists()
    assert await redis.dbsize() == 0


# --- a whole study --------------------------------------------------------------------------


async def test_a_synthetic_study_writes_its_outputs_and_resumes(tmp_path, redis):
    """Two numeric axes x 2 replicates: every output is written, the parquet file holds every
    message with its condition and replicate, fresh human text lowers final drift on a
    mixing network, and a second start keeps completed runs and redoes an unfinished one."""
    study = write_study(
        tmp_path / "study.yaml",
        grid={"injection.rate": [0, 0.8], "provenance.tag_loss": [0, 0.5]},
        replicates=2,
    )
    result = driftlab("study", str(study), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "studies" / "s"
    outputs = ("study.csv", "messages.parquet", "study.png", "summary.md", "phase.png", "runs.csv")
    for name in outputs:
        assert (out / name).stat().st_size > 0, name
    assert "8 runs done now, 0 kept" in result.stdout

    table = pq.read_table(out / "messages.parquet").to_pylist()
    runs = {row["run"] for row in table}
    assert len(runs) == 8
    assert {row["replicate"] for row in table} == {0, 1}
    assert {row["condition"] for row in table} == {
        f"injection.rate={r}, provenance.tag_loss={t}" for r in (0, 0.8) for t in (0, 0.5)
    }
    assert all("observed" not in row and "prompt" not in row for row in table[:5])

    final = {
        row["condition"]: row
        for row in _curve(out / "study.csv")
        if row["by"] == "round" and row["metric"] == "fact_retention" and row["step"] == "11"
    }
    without = final["injection.rate=0, provenance.tag_loss=0"]
    fresh = final["injection.rate=0.8, provenance.tag_loss=0"]
    assert float(fresh["mean"]) > float(without["mean"]) + 0.1
    assert int(fresh["n"]) == int(without["n"]) == 2
    assert int(fresh["messages"]) == int(without["messages"]) == 2 * 24
    summary = (out / "summary.md").read_text()
    assert "vs baseline" in summary and "matched number of agents and rounds" in summary
    assert "fewer than 5 replicates per condition (2)" in summary
    assert "unreliable below 5" in result.stderr

    again = driftlab("study", str(study), cwd=tmp_path)
    assert again.returncode == 0 and "0 runs done now, 8 kept" in again.stdout
    unfinished = sorted(runs)[3]
    await redis.hset(keys.run(unfinished), "status", "cancelled")
    third = driftlab("study", str(study), cwd=tmp_path)
    assert third.returncode == 0 and "1 runs done now, 7 kept" in third.stdout
    assert pq.read_table(out / "messages.parquet").num_rows == len(table)


CONCORDE = yaml.safe_load(Path("examples/telephone-chain.yaml").read_text())["source"]
CORPUS = yaml.safe_load(Path("examples/mixing-injection.yaml").read_text())["human_corpus"]


async def test_share_weighted_lowers_population_drift_while_agents_keep_speaking(tmp_path, store):
    """On a mixing network with fresh human text and intact tags, choosing inputs by their
    observed human share keeps more facts across the whole population than `all`, by a
    margin and with a paired t interval over 3 replicates above 0, while at least 80% of
    the agents' turns with input are spoken and at least 80% of the agents speak at all."""
    base = spec_dict(
        source=CONCORDE,
        human_corpus=CORPUS,
        injection={"rate": 0.5},
        topology={
            "kind": "mixing",
            "graph": "small_world",
            "n_agents": 20,
            "k": 6,
            "p": 0.1,
            "human_sources": 3,
        },
        rounds=10,
        max_inputs=1,
        personas=["editor", "scientist"],
    )
    study = StudySpec(
        name="weighted",
        base=base,
        grid={"policy": {"all": "all", "weighted": {"kind": "share_weighted", "weight": 12}}},
        replicates=3,
    )
    prepared = prepare_runs(plan(study, base), Settings(), {})
    await run_all(prepared, store, tmp_path, parallel=2)
    data = await collect(store, prepared)
    stats = study_stats(
        run_outcomes(data, "fact_retention"), outcome="fact_retention", baseline="policy=all"
    )
    plain, weighted = (s.means for s in stats.conditions)
    assert weighted["population"].n == 3
    assert weighted["population"].mean > plain["population"].mean + 0.1
    (difference,) = [c.test for c in stats.comparisons if c.measure == "population"]
    assert difference is not None and difference.n == 3 and difference.ci_low > 0
    assert weighted["turns_spoken"].mean >= 0.8
    assert weighted["spoke_share"].mean >= 0.8


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parent.parent / "examples" / "studies").glob("*.yaml"))
)
def test_example_studies_are_valid(path: Path) -> None:
    """Every example study reads, expands and validates in every condition."""
    study, base = read_study(path)
    planned = plan(study, base)
    assert len(planned) == len(conditions(study, base)) * study.replicates
    prepared = prepare_runs(planned, Settings(), {})
    assert len(prepared) == len(planned)


async def test_a_failing_condition_does_not_stop_the_others(tmp_path, redis, monkeypatch):
    """A condition whose backend cannot start (no API key) fails alone: the other runs are
    stored, and the study exits 1 naming the failed run."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    study = write_study(
        tmp_path / "study.yaml", grid={"backend": ["synthetic", "openai"]}, set={"rounds": 2}
    )
    result = driftlab("study", str(study), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "1 run of the study failed (s-c001-r0-" in result.stderr
    assert "Traceback" not in result.stderr
    stored = [key async for key in redis.scan_iter(match=keys.run("s-c000-r0-*"))]
    assert len(stored) == 1
