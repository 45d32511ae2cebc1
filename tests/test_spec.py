"""Bad specs give one readable error per problem and write nothing."""

from __future__ import annotations

import pytest

from service.errors import SpecError
from service.experiment.experiment import apply_overrides, load, parse_spec
from tests.conftest import spec_dict


def problems(raw: dict) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        load(raw)
    found: dict[str, str] = {}
    for problem in caught.value.problems:
        found[problem.field] = "; ".join(filter(None, (found.get(problem.field), problem.message)))
    return found


def test_valid_spec_loads_with_defaults():
    """A minimal spec gets the documented defaults."""
    experiment = load(spec_dict())
    spec = experiment.spec
    assert (spec.task, spec.max_inputs, spec.policy.kind, spec.injection.rate) == (
        "summarize",
        3,
        "all",
        0.0,
    )
    assert experiment.agents == ["a0", "a1", "a2"]
    assert experiment.sources == ["h0"]
    assert [experiment.persona_of[n].name for n in experiment.agents] == [
        "editor",
        "tabloid",
        "editor",
    ]


def test_unknown_topology_kind():
    """An unknown topology kind names the field and the valid kinds."""
    found = problems(spec_dict(topology={"kind": "ring", "n_agents": 3}))
    assert "line" in found["topology"] and "ring" in found["topology"]


@pytest.mark.parametrize(
    ("topology", "field"),
    [
        ({"kind": "line", "n_agents": -2}, "topology.n_agents"),
        ({"kind": "tree", "branching": 0, "depth": 2}, "topology.branching"),
        ({"kind": "tree", "branching": 2, "depth": -1}, "topology.depth"),
        ({"kind": "mixing", "graph": "small_world", "n_agents": 10, "k": 3}, "topology.k"),
        ({"kind": "mixing", "graph": "lattice", "n_agents": 10}, "topology.graph"),
    ],
)
def test_negative_or_invalid_sizes(topology, field):
    """Invalid topology sizes are reported under the topology field that is wrong."""
    assert field in problems(spec_dict(topology=topology))


def test_missing_text_and_unknown_persona_reported_together():
    """Several problems come back at once, each naming its field."""
    raw = spec_dict(personas=["editor", "pundit"], rounds=0)
    raw["source"] = {"facts": []}
    found = problems(raw)
    assert set(found) >= {"source.text", "personas", "rounds"}
    assert "pundit" in found["personas"] and "tabloid" in found["personas"]


def test_blank_text_and_unknown_field():
    """A blank source text and a misspelt field are both errors."""
    raw = spec_dict(roundz=3)
    raw["source"] = {"text": "   "}
    found = problems(raw)
    assert found["roundz"] == "unknown field"
    assert "blank" in found["source.text"]


def test_a_fact_the_source_does_not_hold_is_refused_by_name():
    """A fact whose patterns miss the source text is a spec error that names the fact."""
    raw = spec_dict()
    raw["source"]["facts"] = [
        *raw["source"]["facts"],
        {"name": "partial_year", "patterns": ["96"]},  # only inside 1962 and 1964
        {"name": "absent", "patterns": ["Zagato"]},
    ]
    found = problems(raw)
    assert "partial_year" in found["source"] and "absent" in found["source"]
    assert "engine" not in found["source"]


def test_pydantic_and_topology_problems_reported_together():
    """A field error does not hide a bad topology size."""
    found = problems(spec_dict(rounds=-1, topology={"kind": "line", "n_agents": 0}))
    assert set(found) == {"rounds", "topology.n_agents"}


def test_injection_needs_a_corpus():
    """Injection without human_corpus is refused with a hint."""
    assert "human_corpus" in problems(spec_dict(injection={"rate": 0.2}))


def test_policy_and_provenance_ranges():
    """Probabilities outside [0, 1] and max_generation without k are refused."""
    found = problems(
        spec_dict(
            provenance={"tag_loss": 1.5, "detector": {"tpr": -0.1}},
            policy={"kind": "max_generation"},
        )
    )
    assert {"provenance.tag_loss", "provenance.detector.tpr", "policy"} <= set(found)


def test_persona_map_must_name_agents_and_personas():
    """Explicit assignment checks every node and persona name."""
    found = problems(spec_dict(assignment="explicit", persona_map={"a0": "editor", "zz": "nobody"}))
    assert "'zz' is not an agent" in found["persona_map.zz"]
    assert "unknown persona 'nobody'" in found["persona_map.zz"]
    assert "a1" in found["persona_map"]


def test_explicit_and_random_assignment():
    """persona_map pins nodes; random assignment is seeded."""
    experiment = load(
        spec_dict(
            assignment="explicit", persona_map={"a0": "teacher", "a1": "skeptic", "a2": "editor"}
        )
    )
    assert [experiment.persona_of[n].name for n in experiment.agents] == [
        "teacher",
        "skeptic",
        "editor",
    ]
    big = {"kind": "line", "n_agents": 40}
    one = load(spec_dict(assignment="random", topology=big, personas=["editor", "tabloid"]))
    two = load(spec_dict(assignment="random", topology=big, personas=["editor", "tabloid"]))
    names = [one.persona_of[n].name for n in one.agents]
    assert names == [two.persona_of[n].name for n in two.agents]
    assert set(names) == {"editor", "tabloid"} and names != ["editor", "tabloid"] * 20


def test_inline_persona():
    """An inline persona needs a name and a system prompt."""
    experiment = load(spec_dict(personas=[{"name": "poet", "system": "You write verse."}]))
    assert experiment.persona_of["a0"].system == "You write verse."
    assert "personas.0.system" in problems(spec_dict(personas=[{"name": "poet"}]))


def test_backend_override_resets_the_model():
    """--backend replaces the spec's backend and drops a model meant for another backend."""
    raw = spec_dict(backend="openai", model="gpt-4o-mini")
    overridden = parse_spec(apply_overrides(raw, backend="synthetic", model=None, rounds=7))
    assert (overridden.backend, overridden.model, overridden.rounds) == ("synthetic", None, 7)
    kept = parse_spec(apply_overrides(raw, backend="openai", model=None))
    assert kept.model == "gpt-4o-mini"


def test_no_backend_and_no_local_model_is_a_clear_error(monkeypatch):
    """Without a backend anywhere and without the local extra, the error says what to do."""
    monkeypatch.delenv("DRIFTLAB_BACKEND", raising=False)
    monkeypatch.setattr("service.experiment.experiment.local_backend_installed", lambda: False)
    raw = spec_dict()
    del raw["backend"]
    found = problems(raw)
    assert "pip install" in found["backend"] and "--backend" in found["backend"]


def test_environment_backend_is_used(monkeypatch):
    """DRIFTLAB_BACKEND names the backend when the spec does not."""
    monkeypatch.setenv("DRIFTLAB_BACKEND", "synthetic")
    raw = spec_dict()
    del raw["backend"]
    assert load(raw).backend == "synthetic"


def test_a_graph_without_human_sources_is_refused():
    """A network nobody feeds would never say anything: refused with a reason."""
    found = problems(
        spec_dict(
            topology={"kind": "mixing", "graph": "complete", "n_agents": 4, "human_sources": 0}
        )
    )
    assert "no human source" in found["topology"]


def test_unknown_persona_backend_and_environment_embedder(monkeypatch):
    """A persona backend outside the known kinds, and a bad DRIFTLAB_EMBEDDER, are refused."""
    persona = {"name": "p", "system": "s", "backend": "gemini"}
    assert "personas.0.backend" in problems(spec_dict(personas=[persona]))
    monkeypatch.setenv("DRIFTLAB_EMBEDDER", "word2vec")
    raw = spec_dict()
    del raw["embedder"]
    assert "word2vec" in problems(raw)["embedder"]
