"""Property: whatever spec a user writes, `driftlab run --dry-run` succeeds or exits 2 with a
message, never a traceback, within a time bound. Specs are drawn from the spec's own JSON
schema and from a valid spec, then mutated (wrong types, unknown and missing keys, duplicate
keys, truncated or corrupted text)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.cli import main
from service.experiment.spec import ExperimentSpec
from tests.conftest import spec_dict

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ExperimentSpec.model_json_schema()
SECONDS_PER_SPEC = 10.0
# Small limits, so that every spec the property accepts is also cheap to build and estimate.
LIMITS = {
    "DRIFTLAB_MAX_NODES": "400",
    "DRIFTLAB_MAX_EDGES": "4000",
    "DRIFTLAB_MAX_ROUNDS": "40",
    "DRIFTLAB_MAX_TEXT_BYTES": "2000",
    "DRIFTLAB_BACKEND": "synthetic",
}
WORDS = ["a0", "a1", "h0", "0", "editor", "tabloid", "x", "", " ", "all", "line", "1.5"]
ODD_VALUES = st.sampled_from(
    [None, True, False, -1, 0, 10**9, 10**30, 1.5, float("nan"), float("inf"), "3", [], {}]
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values shaped by a JSON schema: mostly in range, sometimes just outside it."""
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(SCHEMA["$defs"][schema["$ref"].split("/")[-1]]))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return st.one_of([from_schema(option) for option in options])
    kind = schema.get("type")
    if kind == "object":
        return _objects(schema)
    return _values(kind, schema)


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    properties = {name: from_schema(sub) for name, sub in schema.get("properties", {}).items()}
    required = set(schema.get("required", ()))
    if "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        value = from_schema(extra) if isinstance(extra, dict) else st.text(max_size=5)
        return st.dictionaries(st.sampled_from(WORDS) | st.integers(0, 3), value, max_size=4)
    return st.fixed_dictionaries(
        {k: v for k, v in properties.items() if k in required},
        optional={k: v for k, v in properties.items() if k not in required},
    )


def _values(kind: str | None, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=6)
    if kind == "integer":
        low = schema.get("minimum", -2)
        high = schema.get("maximum", low + 12)
        return st.integers(low, high) | st.integers(-3, 3) | st.sampled_from([10**6, 10**12])
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0.0))
        high = schema.get("maximum", low + 5.0)
        return st.floats(low, high) | st.sampled_from([-0.5, 1.5, float("nan"), float("inf")])
    if kind == "string":
        return st.sampled_from(WORDS) | st.text(max_size=12)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return ODD_VALUES


@st.composite
def mutated(draw: st.DrawFn, spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with a few fields replaced, removed or added, at any depth."""
    spec = yaml.safe_load(yaml.safe_dump(spec))  # a deep copy
    for _ in range(draw(st.integers(0, 3))):
        target = spec
        while isinstance(target, dict) and target and draw(st.booleans()):
            child = target[draw(st.sampled_from(sorted(target, key=str)))]
            if not isinstance(child, dict) or not child:
                break
            target = child
        if not isinstance(target, dict) or not target:
            continue
        key = draw(st.sampled_from(sorted(target, key=str)))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            target[key] = draw(ODD_VALUES | st.sampled_from(WORDS))
        elif action == "remove":
            del target[key]
        else:
            target[draw(st.sampled_from(["roundz", "extra", 7]))] = draw(ODD_VALUES)
    return spec


def spec_text(spec: dict[str, Any], damage: str, where: float) -> str:
    text = yaml.safe_dump(spec, allow_unicode=True)
    cut = int(len(text) * where)
    if damage == "truncate":
        return text[:cut]
    if damage == "corrupt":
        return text[:cut] + "\x00{[&*!" + text[cut:]
    if damage == "duplicate key":
        return text + "rounds: 2\nrounds: 3\n"
    return text


def alias_bomb(levels: int = 9) -> bytes:
    """Ten times more values at each level: 10^(levels+1) once expanded."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines).encode()


ALIAS_BOMB = alias_bomb()


def base_spec() -> dict[str, Any]:
    spec = spec_dict()
    del spec["backend"]  # resolved from DRIFTLAB_BACKEND
    return spec


TOPOLOGIES = st.one_of(
    st.fixed_dictionaries({"kind": st.just("line"), "n_agents": st.integers(1, 30)}),
    st.fixed_dictionaries(
        {"kind": st.just("tree"), "branching": st.integers(1, 3), "depth": st.integers(0, 4)}
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("mixing"),
            "graph": st.sampled_from(["small_world", "scale_free", "random", "complete"]),
            "n_agents": st.integers(6, 40),
            "human_sources": st.integers(0, 3),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("edges"),
            "edges": st.lists(
                st.lists(st.sampled_from(["h", "a", "b", 0, 1]), min_size=2, max_size=2)
            ),
            "human_sources": st.just(["h"]),
        }
    ),
)
VALID_LOOKING = st.fixed_dictionaries(
    {
        "topology": TOPOLOGIES,
        "rounds": st.integers(1, 40),
        "seed": st.integers(0, 2**64),
        "injection": st.fixed_dictionaries({"rate": st.floats(0, 1)}),
        "human_corpus": st.lists(st.sampled_from(["Fresh text.", "Another one."]), max_size=2),
        "policy": st.sampled_from(["all", "latest", "human_only", "anchor", "label"]),
        "provenance": st.fixed_dictionaries({"tag_loss": st.floats(0, 1)}),
    }
).map(lambda fields: {**base_spec(), **fields})
SPECS = st.one_of(
    VALID_LOOKING,
    VALID_LOOKING.flatmap(mutated),
    from_schema(SCHEMA),
    from_schema(SCHEMA).flatmap(mutated),
)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    spec=SPECS,
    damage=st.sampled_from(["none"] * 5 + ["truncate", "corrupt", "duplicate key"]),
    where=st.floats(0, 1),
)
def test_dry_run_succeeds_or_exits_2_with_a_message(tmp_path_factory, spec, damage, where):
    """Any spec: exit 0 with the estimate, or exit 2 with a message; never a traceback."""
    path = tmp_path_factory.mktemp("spec") / "spec.yaml"
    path.write_text(spec_text(spec, damage, where), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with (
        mock.patch.dict(os.environ, LIMITS),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        code = main(["run", str(path), "--dry-run"])
    elapsed = time.perf_counter() - started
    event(f"exit {code}")
    assert elapsed < SECONDS_PER_SPEC
    assert "Traceback" not in stderr.getvalue()
    if code == 0:
        assert "LLM calls (at most)" in stdout.getvalue()
    else:
        assert code == 2, stderr.getvalue()
        assert stderr.getvalue().startswith(("invalid spec (", "error: "))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("valid.yaml", yaml.safe_dump(base_spec()).encode()),
        ("latin1.yaml", b"name: caf\xe9\n"),
        ("deep.yaml", b"a: " + b"[" * 20000 + b"]" * 20000),
        ("bomb.yaml", ALIAS_BOMB),
        ("types.yaml", yaml.safe_dump(spec_dict(rounds=True, seed="1")).encode()),
    ],
)
def test_dry_run_in_a_subprocess(tmp_path, name, content):
    """The installed entry point behaves the same: exit 0 or 2, never a traceback."""
    path = tmp_path / name
    path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "run", str(path), "--dry-run"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "DRIFTLAB_BACKEND": "synthetic"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == (0 if name == "valid.yaml" else 2), result.stderr
