// The run's topology drawn on two stacked 2D canvases: the edges (redrawn only when the view
// moves) and the nodes with the edges lit by the latest round (redrawn once per animation
// frame while rounds arrive). Human sources are blue, agents coloured by the drift of their
// latest message, nodes that merged two or more texts larger. Canvas 2D rather than WebGL:
// on a machine without a GPU, Chromium draws WebGL in software (SwiftShader) five times
// slower than it draws these paths (docs/dashboard.md, "How it is built").
const SOURCE = "#2b6cb0";
const SILENT = "#c9ced6";
const EDGE = "#dde1e7";
const LIT = "#f08c00";
const MAX_EDGES = 10000; // beyond this, only the edges of shortest paths from the sources
const LABEL_RADIUS = 5; // px: nodes drawn at least this large carry their label
const PADDING = 16; // px around the fitted layout

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
    const allEdges = topology.edges.length <= MAX_EDGES;
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
    const drawn = allEdges ? topology.edges : topology.edges.filter((e) => firstSender.get(e.target) === e.source);
    for (const edge of drawn) graph.addEdge(edge.source, edge.target);
    this.graph = graph;
    this.arrows = !big; // a chain or a small network reads better with its direction
    this.zoom = 1;
    this.lit = []; // [source, target] of the drawn edges the latest round's messages passed
    this.selected = null; // the node last clicked, ringed
    this.container = container;
    this.edgeLayer = layer(container);
    this.nodeLayer = layer(container);
    this.tip = document.createElement("div");
    this.tip.className = "graph-tip";
    this.tip.hidden = true;
    container.append(this.tip);
    this.frame = null;
    this.edgesStale = true; // the edge layer is redrawn only when the view moves
    this.fit();
    this.drawNow();
    this.listen(onNode);
    this.resized = new ResizeObserver(() => this.fitIfResized());
    this.resized.observe(container);
    requestAnimationFrame(() => performance.mark("driftlab:graph-rendered"));
  }

  /** A round's messages: [{node, value, parents}]; the edges lit by the round before go dark.
   * Drawn at the next animation frame, however many rounds arrive before it. */
  update(messages) {
    const graph = this.graph;
    this.lit = [];
    for (const message of messages) {
      if (!graph.hasNode(message.node)) continue;
      const attributes = graph.getNodeAttributes(message.node);
      attributes.color = attributes.human ? SOURCE : colour(message.value);
      attributes.size = (attributes.human ? 2 : message.parents.length > 1 ? 1.6 : 1) * this.base;
      for (const parent of message.parents) if (graph.hasEdge(parent, message.node)) this.lit.push([parent, message.node]);
    }
    this.schedule();
  }

  /** Where `node` is drawn, in CSS pixels from the container's top-left corner. */
  viewportPosition(node) {
    return this.toScreen(this.graph.getNodeAttributes(node));
  }

  kill() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.resized.disconnect();
    this.container.replaceChildren();
  }

  // -- drawing --------------------------------------------------------------------------

  schedule(edgesToo = false) {
    this.edgesStale ||= edgesToo;
    this.frame ??= requestAnimationFrame(() => {
      this.frame = null;
      this.drawNow();
    });
  }

  drawNow() {
    if (this.edgesStale) this.drawEdges();
    this.edgesStale = false;
    this.drawNodes();
  }

  fitIfResized() {
    const { width, height } = this.container.getBoundingClientRect();
    if (Math.max(1, width) === this.width && Math.max(1, height) === this.height) return;
    this.fit();
    this.schedule(true);
  }

  /** Canvases the container's size; scale and offset that fit the whole layout in it. */
  fit() {
    const { width, height } = this.container.getBoundingClientRect();
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    const ratio = window.devicePixelRatio || 1;
    for (const canvas of [this.edgeLayer, this.nodeLayer]) {
      canvas.width = Math.round(this.width * ratio);
      canvas.height = Math.round(this.height * ratio);
      canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
    }
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    this.graph.forEachNode((_, { x, y }) => {
      [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
    });
    const span = Math.max(maxX - minX, maxY - minY, 1e-9);
    this.zoom = 1;
    this.scale = Math.max(1, Math.min(this.width, this.height) - 2 * PADDING) / span;
    this.offsetX = this.width / 2 - ((minX + maxX) / 2) * this.scale;
    this.offsetY = this.height / 2 + ((minY + maxY) / 2) * this.scale;
  }

  toScreen({ x, y }) {
    return { x: this.offsetX + x * this.scale, y: this.offsetY - y * this.scale };
  }

  radius(attributes) {
    return attributes.size * Math.max(1, Math.sqrt(this.zoom));
  }

  drawEdges() {
    const context = this.edgeLayer.getContext("2d");
    context.clearRect(0, 0, this.width, this.height);
    context.strokeStyle = EDGE;
    context.fillStyle = EDGE;
    context.lineWidth = this.arrows ? 1 : 0.5;
    this.strokeEdges(context, this.graph.edges().map((edge) => this.graph.extremities(edge)));
  }

  drawNodes() {
    const context = this.nodeLayer.getContext("2d");
    context.clearRect(0, 0, this.width, this.height);
    if (this.lit.length) {
      context.strokeStyle = LIT;
      context.fillStyle = LIT;
      context.lineWidth = this.arrows ? 2 : 0.7;
      this.strokeEdges(context, this.lit);
    }
    const byColour = new Map();
    this.graph.forEachNode((_, attributes) => {
      const group = byColour.get(attributes.color);
      if (group) group.push(attributes);
      else byColour.set(attributes.color, [attributes]);
    });
    for (const [fill, nodes] of byColour) {
      context.fillStyle = fill;
      context.beginPath();
      for (const attributes of nodes) {
        const { x, y } = this.toScreen(attributes);
        const r = this.radius(attributes);
        context.moveTo(x + r, y);
        context.arc(x, y, r, 0, 2 * Math.PI);
      }
      context.fill();
    }
    if (this.selected) {
      const attributes = this.graph.getNodeAttributes(this.selected);
      const { x, y } = this.toScreen(attributes);
      context.strokeStyle = "#1d2330";
      context.lineWidth = 2;
      context.beginPath();
      context.arc(x, y, this.radius(attributes) + 3, 0, 2 * Math.PI);
      context.stroke();
    }
    context.fillStyle = "#333";
    context.font = "12px system-ui, sans-serif";
    this.graph.forEachNode((_, attributes) => {
      const r = this.radius(attributes);
      if (r < LABEL_RADIUS) return;
      const { x, y } = this.toScreen(attributes);
      context.fillText(attributes.label, x + r + 6, y + 4);
    });
  }

  /** Lines (and, for small graphs, arrowheads) from source to target, one path each. */
  strokeEdges(context, pairs) {
    const heads = this.arrows ? new Path2D() : null;
    context.beginPath();
    for (const [source, target] of pairs) {
      const from = this.toScreen(this.graph.getNodeAttributes(source));
      const to = this.toScreen(this.graph.getNodeAttributes(target));
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      if (heads) arrowhead(heads, from, to, this.radius(this.graph.getNodeAttributes(target)));
    }
    context.stroke();
    if (heads) context.fill(heads);
  }

  // -- pointer: click opens a node, hover names it, wheel zooms, drag pans ----------------

  nodeAt(clientX, clientY) {
    const box = this.nodeLayer.getBoundingClientRect();
    const [px, py] = [clientX - box.left, clientY - box.top];
    let best = null;
    let bestDistance = Infinity;
    this.graph.forEachNode((node, attributes) => {
      const { x, y } = this.toScreen(attributes);
      const distance = Math.hypot(x - px, y - py);
      if (distance <= Math.max(this.radius(attributes), 4) && distance < bestDistance) [best, bestDistance] = [node, distance];
    });
    return best;
  }

  listen(onNode) {
    const target = this.nodeLayer;
    let drag = null;
    target.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, moved: false };
      target.setPointerCapture(event.pointerId);
    });
    target.addEventListener("pointermove", (event) => {
      if (drag && (drag.moved || Math.hypot(event.clientX - drag.x, event.clientY - drag.y) > 3)) {
        this.offsetX += event.clientX - drag.x;
        this.offsetY += event.clientY - drag.y;
        Object.assign(drag, { x: event.clientX, y: event.clientY, moved: true });
        this.schedule(true);
        return;
      }
      const node = this.nodeAt(event.clientX, event.clientY);
      target.style.cursor = node ? "pointer" : "grab";
      const unlabelled = node && this.radius(this.graph.getNodeAttributes(node)) < LABEL_RADIUS;
      this.tip.hidden = !unlabelled;
      if (unlabelled) {
        const at = this.viewportPosition(node);
        this.tip.textContent = this.graph.getNodeAttribute(node, "label");
        Object.assign(this.tip.style, { left: `${at.x + 8}px`, top: `${at.y + 8}px` });
      }
    });
    target.addEventListener("pointerup", (event) => {
      if (drag && !drag.moved) {
        const node = this.nodeAt(event.clientX, event.clientY);
        if (node) {
          this.selected = node;
          this.schedule();
          onNode(node);
        }
      }
      drag = null;
    });
    target.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = target.getBoundingClientRect();
      const [px, py] = [event.clientX - box.left, event.clientY - box.top];
      const factor = Math.exp(-event.deltaY * 0.002);
      this.zoom *= factor;
      this.scale *= factor;
      this.offsetX = px - (px - this.offsetX) * factor;
      this.offsetY = py - (py - this.offsetY) * factor;
      this.schedule(true);
    }, { passive: false });
  }
}

function layer(container) {
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "position:absolute;inset:0;width:100%;height:100%";
  container.append(canvas);
  return canvas;
}

/** A small triangle at `to`'s rim, pointing from `from`. */
function arrowhead(path, from, to, radius) {
  const length = Math.hypot(to.x - from.x, to.y - from.y);
  if (length <= radius) return;
  const [ux, uy] = [(to.x - from.x) / length, (to.y - from.y) / length];
  const [tipX, tipY] = [to.x - ux * radius, to.y - uy * radius];
  const size = 6;
  path.moveTo(tipX, tipY);
  path.lineTo(tipX - ux * size - uy * size * 0.5, tipY - uy * size + ux * size * 0.5);
  path.lineTo(tipX - ux * size + uy * size * 0.5, tipY - uy * size - ux * size * 0.5);
  path.closePath();
}
