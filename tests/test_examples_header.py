"""Every example states its backend in its first comment line, truthfully; and doctor's
install command is one this interpreter can run."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from service.install_hint import install_command

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml")) + sorted(
    (ROOT / "examples" / "studies").rglob("*.yaml")
)
HEADER = re.compile(r"# backend: (synthetic|local|openai)\b")


def backend_of(path: Path) -> str:
    """The backend a spec or a study's base runs on (a study's `set` may override it)."""
    body = yaml.safe_load(path.read_text())
    if "base" not in body:
        return str(body["backend"])
    base = body["base"]
    spec = yaml.safe_load((path.parent / base).read_text()) if isinstance(base, str) else base
    overrides = body.get("set") or {}
    return str(overrides.get("backend", spec.get("backend", "synthetic")))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_first_line_states_the_backend(example: Path):
    first = example.read_text().splitlines()[0]
    match = HEADER.match(first)
    assert match, f"{example.name}: first line {first!r}"
    assert match.group(1) == backend_of(example)


def test_install_command_targets_this_interpreter():
    command = install_command("local", "local-server")
    assert command.startswith(f"{shlex.quote(sys.executable)} -m pip install ")
    assert command.rstrip("'").endswith("[local,local-server]")
