"""The simulation service: spec, engine, provenance store, drift metrics, exports, CLI.

Its names are imported on first use, so that importing one submodule imports no others.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "SpecError": "service.errors",
    "Experiment": "service.experiment.experiment",
    "load": "service.experiment.experiment",
    "ExperimentSpec": "service.experiment.spec",
    "Message": "service.provenance.message",
    "ProvenanceStore": "service.provenance.store",
    "Engine": "service.run.engine",
    "RunResult": "service.run.report",
    "RunStatus": "service.status",
}

__all__ = [
    "Engine",
    "Experiment",
    "ExperimentSpec",
    "Message",
    "ProvenanceStore",
    "RunResult",
    "RunStatus",
    "SpecError",
    "load",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
