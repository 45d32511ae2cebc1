"""The texts calibration retells by default (sources.yaml): three short factual texts of
different kinds, each with checkable facts (a user can give others with --sources, a YAML
mapping of names to `source:` blocks, the form of sources.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml

from service.experiment.spec import Source

SOURCES_FILE = Path(__file__).with_name("sources.yaml")


def _read_default_sources() -> dict[str, Source]:
    raw = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    return {name: Source.model_validate(block) for name, block in raw.items()}


DEFAULT_SOURCES: dict[str, Source] = _read_default_sources()
