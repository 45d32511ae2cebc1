"""The simulation service: spec, engine, provenance store, drift metrics, exports, CLI."""

from service.errors import SpecError
from service.experiment.experiment import Experiment, load
from service.experiment.spec import ExperimentSpec
from service.provenance.message import Message
from service.provenance.store import ProvenanceStore
from service.run.engine import Engine, RunResult
from service.status import RunStatus

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
