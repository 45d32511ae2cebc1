"""Build a topology from a kind name and a parameter dict (e.g. from config)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import networkx as nx

from .chains import line
from .edgelists import from_edges
from .errors import TopologyError
from .mixers import mixing
from .trees import tree

__all__ = ["BUILDERS", "build"]

BUILDERS: dict[str, Callable[..., nx.DiGraph]] = {
    "line": line,
    "tree": tree,
    "mixing": mixing,
    "edges": from_edges,
}


def build(kind: str, params: Mapping[str, Any], *, seed: int | None = None) -> nx.DiGraph:
    """Return the topology of ``kind`` built from ``params``.

    ``kind`` is one of ``BUILDERS``; ``params`` are the builder's arguments by
    name. ``seed`` goes to the ``mixing`` builder only (the others are
    deterministic) and may not also appear in ``params``.
    """
    if kind not in BUILDERS:
        raise TopologyError("kind", f"kind must be one of {', '.join(BUILDERS)}; got kind={kind!r}")
    if not isinstance(params, Mapping):
        raise TopologyError("params", f"params must be a mapping, got params={params!r}")
    builder = BUILDERS[kind]
    signature = inspect.signature(builder)
    allowed = [name for name in signature.parameters if name != "seed"]
    for name in params:
        if name not in allowed:
            raise TopologyError(
                str(name),
                f"unexpected parameter {name!r} for kind={kind!r}; expected {', '.join(allowed)}",
            )
    for name in allowed:
        if signature.parameters[name].default is inspect.Parameter.empty and name not in params:
            raise TopologyError(name, f"kind={kind!r} needs parameter {name!r}, got none")
    if kind == "mixing":
        return builder(**params, seed=seed)
    return builder(**params)
