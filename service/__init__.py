"""The simulation service: spec, engine, provenance store, drift metrics, exports, CLI."""

from service.engine import Engine, RunResult
from service.errors import SpecError
from service.experiment import Experiment, load
from service.message import Message
from service.spec import ExperimentSpec
from service.status import RunStatus
from service.store import ProvenanceStore

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
