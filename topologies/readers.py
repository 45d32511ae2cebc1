"""Read a graph file (GraphML or node-link JSON) into a networkx graph."""

from __future__ import annotations

import inspect
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx

from .errors import TopologyError

__all__ = ["SUFFIXES", "read_graph"]

SUFFIXES = (".graphml", ".json")

# networkx 3.4 renamed node_link_graph's ``link`` keyword to ``edges``.
_EDGES_KEYWORD = "edges" if "edges" in inspect.signature(nx.node_link_graph).parameters else "link"


def _read_node_link(path: Path) -> nx.Graph:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("node-link JSON must be an object")
    # Files from older networkx say "links", newer ones "edges"; accept both.
    key = "edges" if "edges" in data else "links" if "links" in data else None
    if key is None:
        raise ValueError("node-link JSON has neither an 'edges' nor a 'links' list")
    return nx.node_link_graph(data, directed=False, multigraph=False, **{_EDGES_KEYWORD: key})


def read_graph(path: str | os.PathLike[str]) -> nx.Graph:
    """Return the graph stored at ``path`` (``.graphml`` or node-link ``.json``).

    Any failure to read or parse the file is raised as
    ``TopologyError("path", ...)``.
    """
    if not isinstance(path, str | os.PathLike):
        raise TopologyError("path", f"path must be a file path, got path={path!r}")
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise TopologyError(
            "path", f"path must end in {' or '.join(SUFFIXES)}, got path={str(path)!r}"
        )
    try:
        if suffix == ".graphml":
            return nx.read_graphml(file)
        return _read_node_link(file)
    except (OSError, ValueError, KeyError, TypeError, ET.ParseError, nx.NetworkXError) as exc:
        raise TopologyError("path", f"cannot read graph from path={str(path)!r}: {exc}") from exc
