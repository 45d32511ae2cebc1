// The run's topology drawn with sigma.js (WebGL): human sources in blue, agents coloured by
// the drift of their latest message, edges lit while a message passes along them, nodes that
// merged two or more texts drawn larger.
const SOURCE = "#2b6cb0";
const SILENT = "#c9ced6";
const EDGE = "#dde1e7";
const LIT = "#f08c00";
const MAX_EDGES = 10000; // beyond this, only the edges of shortest paths from the sources
const CHUNK = 1000; // nodes (and edges) recoloured in one animation frame

/** Red (0) through yellow to green (1). */
export function colour(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return SILENT;
  const v = Math.max(0, Math.min(1, value));
  const [from, to, t] = v < 0.5 ? [[215, 48, 31], [254, 224, 139], v * 2] : [[254, 224, 139], [26, 152, 80], v * 2 - 1];
  const channel = (i) => Math.round(from[i] + (to[i] - from[i]) * t).toString(16).padStart(2, "0");
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

/** Rings by hops from the human sources; each ring ordered by where its parents sit, wide
 * enough for its nodes. O(nodes + edges): instant at 5,000 nodes, and distance from the human
 * text is what drift grows with. Also each node's first sender on a shortest path from a
 * source. */
export function radialLayout(topology) {
  const out = new Map(topology.nodes.map((node) => [node.id, []]));
  const into = new Map(topology.nodes.map((node) => [node.id, []]));
  for (const edge of topology.edges) {
    out.get(edge.source).push(edge.target);
    into.get(edge.target).push(edge.source);
  }
  const depth = new Map();
  const firstSender = new Map();
  let frontier = topology.nodes.filter((node) => node.role === "human_source").map((node) => node.id);
  frontier.forEach((id) => depth.set(id, 0));
  const rings = [];
  while (frontier.length) {
    rings.push(frontier);
    const next = [];
    for (const id of frontier) {
      for (const target of out.get(id)) {
        if (!depth.has(target)) {
          depth.set(target, rings.length);
          firstSender.set(target, id);
          next.push(target);
        }
      }
    }
    frontier = next;
  }
  const unreached = topology.nodes.map((node) => node.id).filter((id) => !depth.has(id));
  if (unreached.length) rings.push(unreached);
  const angle = new Map();
  const positions = new Map();
  let radius = 0;
  rings.forEach((ring, index) => {
    const parentAngle = (id) => {
      const placed = into.get(id).filter((parent) => angle.has(parent));
      return placed.length ? placed.reduce((sum, parent) => sum + angle.get(parent), 0) / placed.length : 0;
    };
    if (index > 0) ring.sort((a, b) => parentAngle(a) - parentAngle(b));
    radius = index === 0 ? (ring.length > 1 ? ring.length / (2 * Math.PI) : 0) : Math.max(radius + 1, ring.length / (2 * Math.PI));
    ring.forEach((id, i) => {
      const a = ring.length === 1 ? (index > 0 ? parentAngle(id) + 0.4 : 0) : (2 * Math.PI * (i + 0.5)) / ring.length;
      angle.set(id, a);
      positions.set(id, { x: radius * Math.cos(a), y: radius * Math.sin(a) });
    });
  });
  return { positions, firstSender };
}

export class LiveGraph {
  constructor(container, topology, onNode) {
    const graph = new graphology.DirectedGraph();
    const { positions, firstSender } = radialLayout(topology);
    const big = topology.nodes.length > 500;
    this.edgesDrawn = topology.edges.length > MAX_EDGES ? "shortest paths from the sources" : "all";
    this.base = big ? 2 : 5;
    for (const node of topology.nodes) {
      const human = node.role === "human_source";
      graph.addNode(node.id, {
        ...positions.get(node.id),
        size: human ? this.base * 2 : this.base,
        color: human ? SOURCE : SILENT,
        label: human ? `${node.id} (human source)` : `${node.id}${node.persona ? ` · ${node.persona}` : ""}`,
        human,
      });
    }
    const drawn = this.edgesDrawn === "all" ? topology.edges : topology.edges.filter((e) => firstSender.get(e.target) === e.source);
    for (const edge of drawn) graph.addEdge(edge.source, edge.target, { color: EDGE, size: big ? 0.3 : 1 });
    this.graph = graph;
    this.sigma = new Sigma(graph, container, {
      hideEdgesOnMove: big,
      labelRenderedSizeThreshold: big ? 8 : 4,
      defaultEdgeType: big ? "line" : "arrow",
    });
    this.sigma.on("clickNode", ({ node }) => onNode(node));
    this.sigma.once("afterRender", () => performance.mark("driftlab:graph-rendered"));
    this.nodeChanges = new Map(); // node -> {color, size} not drawn yet
    this.edgeChanges = new Map(); // edge -> colour not drawn yet
    this.lit = new Set();
    this.frame = null;
  }

  /** A round's messages: [{node, value, parents}]; the edges lit by the round before go
   * dark. Drawn over the next animation frames, at most CHUNK nodes a frame. */
  update(messages) {
    const graph = this.graph;
    for (const edge of this.lit) this.edgeChanges.set(edge, EDGE);
    this.lit = new Set();
    for (const message of messages) {
      if (!graph.hasNode(message.node)) continue;
      const human = graph.getNodeAttribute(message.node, "human");
      this.nodeChanges.set(message.node, {
        color: human ? SOURCE : colour(message.value),
        size: (human ? 2 : message.parents.length > 1 ? 1.6 : 1) * this.base,
      });
      for (const parent of message.parents) {
        const edge = graph.edge(parent, message.node);
        if (edge === undefined) continue;
        this.lit.add(edge);
        this.edgeChanges.set(edge, LIT);
      }
    }
    this.frame ??= requestAnimationFrame(() => this.draw());
  }

  /** The next CHUNK changed nodes (and edges): their attributes are changed in place and
   * only they are handed to sigma again (`refresh` with a partial graph), so a frame's
   * work stays small however many nodes a round recolours. Events on the graph (a setter)
   * would make sigma process every node and edge. */
  draw() {
    const nodes = take(this.nodeChanges, CHUNK);
    const edges = take(this.edgeChanges, CHUNK);
    for (const [node, change] of nodes) Object.assign(this.graph.getNodeAttributes(node), change);
    for (const [edge, color] of edges) this.graph.getEdgeAttributes(edge).color = color;
    const partialGraph = { nodes: nodes.map(([node]) => node), edges: edges.map(([edge]) => edge) };
    try {
      this.sigma.refresh({ partialGraph, skipIndexation: true, schedule: true });
    } catch {
      // sigma has not indexed these yet (its first processing is still to come): a whole
      // refresh indexes every node and edge with the attributes just set
      this.sigma.refresh({ schedule: true });
    }
    const more = this.nodeChanges.size || this.edgeChanges.size;
    this.frame = more ? requestAnimationFrame(() => this.draw()) : null;
  }

  colourOf(node) {
    return this.graph.getNodeAttribute(node, "color");
  }

  kill() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.sigma.kill();
  }
}

/** The first `count` entries of `map`, removed from it. */
function take(map, count) {
  const taken = [];
  for (const entry of map) {
    if (taken.length === count) break;
    taken.push(entry);
  }
  for (const [key] of taken) map.delete(key);
  return taken;
}
