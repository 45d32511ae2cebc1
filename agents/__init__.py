"""Who speaks and how: personas, tasks, chat backends and embedders.

Agents know nothing of provenance, the engine, Redis or HTTP.

Its names are imported on first use, so that importing one submodule imports no others.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Agent": "agents.agent",
    "Reply": "agents.agent",
    "BackendError": "agents.backend",
    "ChatBackend": "agents.backend",
    "ChatRequest": "agents.backend",
    "Completion": "agents.backend",
    "Usage": "agents.backend",
    "Persona": "agents.persona",
    "RetellingStyle": "agents.persona",
    "BUILTIN_PERSONAS": "agents.personas",
    "InputText": "agents.tasks",
    "render_prompt": "agents.tasks",
}

__all__ = [
    "BUILTIN_PERSONAS",
    "Agent",
    "BackendError",
    "ChatBackend",
    "ChatRequest",
    "Completion",
    "InputText",
    "Persona",
    "Reply",
    "RetellingStyle",
    "Usage",
    "render_prompt",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
