"""The OpenAPI document describes the spec's fields with docs/spec.md's own words: the
shipped copy equals the docs, every documented field exists, and the document carries them."""

from __future__ import annotations

import json
from pathlib import Path

from service.api.spec_docs import (
    FIELDS_FILE,
    ROOT_SCHEMA,
    _properties,
    describe_spec_fields,
    parse_field_tables,
)
from service.experiment.spec import ExperimentSpec

ROOT = Path(__file__).resolve().parent.parent


def spec_schemas() -> dict:
    schema = ExperimentSpec.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs"), ROOT_SCHEMA: schema}


def test_shipped_descriptions_equal_the_docs():
    """Regenerate with `python scripts/spec_field_docs.py` after editing the docs."""
    parsed = parse_field_tables((ROOT / "docs" / "spec.md").read_text(encoding="utf-8"))
    assert json.loads(FIELDS_FILE.read_text(encoding="utf-8")) == parsed
    assert len(parsed) > 80


def test_every_documented_field_is_a_spec_field():
    schemas = spec_schemas()
    documented = json.loads(FIELDS_FILE.read_text(encoding="utf-8"))
    missing = [path for path in documented if not _properties(path, schemas)]
    assert missing == []


def test_schema_fields_get_the_docs_meaning():
    schemas = spec_schemas()
    describe_spec_fields(schemas)
    spec = schemas[ROOT_SCHEMA]["properties"]
    assert spec["rounds"]["description"].startswith("Number of rounds")
    assert "context word" in schemas["Fact"]["properties"]["context"]["description"].lower() or (
        "sentence" in schemas["Fact"]["properties"]["context"]["description"]
    )
    assert schemas["LineTopology"]["properties"]["n_agents"]["description"].startswith("Agents")
    assert schemas["Persona"]["properties"]["temperature"]["description"] == (
        "Sampling temperature."
    )
    assert "](" not in spec["memory"]["description"]  # links reduced to their text
