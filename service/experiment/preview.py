"""An experiment's graph as JSON: what `POST /v1/topologies/preview` answers, and what a run
keeps from its start (`GET /v1/runs/{id}/topology`, the dashboard's graph)."""

from __future__ import annotations

import json

from service.experiment.experiment import Experiment
from topologies import AGENT, HUMAN_SOURCE


def topology_json(experiment: Experiment) -> str:
    """The experiment's graph as TopologyPreview's JSON, written without a pydantic model
    per node and edge (a 5,000-agent small world has 30,000 edges)."""
    persona = experiment.persona_of
    preview = {
        "nodes": [
            {"id": node, "role": HUMAN_SOURCE, "persona": None} for node in experiment.sources
        ]
        + [
            {"id": node, "role": AGENT, "persona": persona[node].name} for node in experiment.agents
        ],
        "edges": [{"source": str(u), "target": str(v)} for u, v in experiment.graph.edges],
        "agents": len(experiment.agents),
        "human_sources": len(experiment.sources),
    }
    return json.dumps(preview, separators=(",", ":"))
