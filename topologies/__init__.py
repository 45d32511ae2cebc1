"""Communication topologies for driftlab: who hears whom.

Every builder returns an ``nx.DiGraph`` with str node ids. Agents are
"a0", "a1", ... and human sources "h0", "h1", ...; each node has a ``role``
attribute (``AGENT`` or ``HUMAN_SOURCE``). An edge u -> v means v hears u;
human sources have no in-edges. ``G.graph["kind"]`` names the builder kind.

Build from a config dict with :func:`topologies.build.build`.
"""

from .chains import line
from .edgelists import from_edges
from .errors import TopologyError
from .mixers import MIXING_GRAPHS, mixing
from .roles import AGENT, HUMAN_SOURCE, agents, human_sources
from .trees import tree

__all__ = [
    "AGENT",
    "HUMAN_SOURCE",
    "MIXING_GRAPHS",
    "TopologyError",
    "agents",
    "from_edges",
    "human_sources",
    "line",
    "mixing",
    "tree",
]
