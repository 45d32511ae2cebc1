"""Descriptions of the spec's fields in the OpenAPI document, taken from the field tables of
docs/spec.md (the one source): `python scripts/spec_field_docs.py` regenerates
spec_fields.json, which ships with the package; a test keeps the two equal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

FIELDS_FILE = Path(__file__).with_name("spec_fields.json")
ROOT_SCHEMA = "ExperimentSpec"
TABLE_HEADER = "| field | type | default | meaning |"
TOP_LEVEL = "## Top-level fields"
PERSONAS = "## Personas"
TOPOLOGY_KINDS = ("line", "tree", "mixing", "edges")
SECTION = re.compile(r"^#{2,4} `([a-z_]+)`")
LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def _prefix(heading: str) -> str | None:
    """The spec path a heading's field table documents, or None for other tables."""
    if heading == TOP_LEVEL:
        return ""
    if heading.startswith(PERSONAS):
        return "personas[]"
    match = SECTION.match(heading)
    if not match:
        return None
    name = match.group(1)
    return "topology" if name in TOPOLOGY_KINDS else name


def parse_field_tables(markdown: str) -> dict[str, str]:
    """Spec path (`source.facts[].context`) -> the `meaning` cell of its row, links reduced
    to their text, from every field table of docs/spec.md."""
    fields: dict[str, str] = {}
    prefix: str | None = None
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("#"):
            prefix, in_table = _prefix(line.strip()), False
        elif line.strip() == TABLE_HEADER:
            in_table = prefix is not None
        elif in_table and line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            name = cells[0].strip("`")
            path = f"{prefix}.{name}" if prefix else name
            fields.setdefault(path, LINK.sub(r"\1", cells[-1]))
        elif in_table and not line.startswith("|"):
            in_table = False
    return fields


@cache
def field_docs() -> dict[str, str]:
    return dict(json.loads(FIELDS_FILE.read_text(encoding="utf-8")))


def _expanded(node: dict[str, Any], schemas: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`node` and what it stands for: the schema it refers to, its alternatives."""
    if "$ref" in node:
        yield from _expanded(schemas[node["$ref"].rsplit("/", 1)[-1]], schemas)
        return
    yield node
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key, []):
            yield from _expanded(branch, schemas)


def _properties(path: str, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The property schemas `path` names, starting from ExperimentSpec (every alternative of
    a union that has it)."""
    nodes: list[dict[str, Any]] = [schemas[ROOT_SCHEMA]]
    found: list[dict[str, Any]] = []
    for segment in path.split("."):
        name = segment.removesuffix("[]")
        found = [
            node["properties"][name]
            for parent in nodes
            for node in _expanded(parent, schemas)
            if name in node.get("properties", {})
        ]
        nodes = found
        if segment.endswith("[]"):
            nodes = [
                node["items"]
                for prop in found
                for node in _expanded(prop, schemas)
                if "items" in node
            ]
    return found


def describe_spec_fields(schemas: dict[str, Any]) -> None:
    """Give each spec field in `schemas` (OpenAPI components) its docs/spec.md meaning, where
    pydantic gave it no description."""
    if ROOT_SCHEMA not in schemas:
        return
    for path, meaning in field_docs().items():
        for prop in _properties(path, schemas):
            prop.setdefault("description", meaning)


def write_field_docs(spec_md: Path) -> int:
    """Regenerate spec_fields.json from `spec_md`; returns the number of fields."""
    table = parse_field_tables(spec_md.read_text(encoding="utf-8"))
    FIELDS_FILE.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return len(table)
