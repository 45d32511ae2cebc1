// A message's lineage: the path back to its human source, each hop's words added and removed
// against the text it was written from, its true and observed tags, persona, backend,
// latency and tokens; the whole ancestry (and descendants) as a small DAG.
import * as api from "./api.js";
import { h, number, errorBox } from "./dom.js";

const MAX_DAG = 300;

export async function renderLineage(container, runId, messageId, { compact = false } = {}) {
  container.replaceChildren(h("p", { class: "hint" }, "loading lineage…"));
  let lineage;
  try {
    lineage = await api.get(`${api.run(runId)}/messages/${encodeURIComponent(messageId)}/lineage`);
  } catch (error) {
    return container.replaceChildren(errorBox(error));
  }
  const byId = new Map(lineage.nodes.map((message) => [message.id, message]));
  const path = pathBack(byId, messageId);
  const hops = h("ol", { class: "hops" }, ...path.map((message, i) => hop(message, path[i - 1], byId)));
  container.replaceChildren(
    h("h2", {}, "Lineage of ", h("code", {}, messageId)),
    h("p", {}, `${path.length} hops back to the human source`, compact ? " · " : "",
      compact ? h("a", { href: `#/lineage/${encodeURIComponent(runId)}/${encodeURIComponent(messageId)}` }, "open full page") : ""),
    dag(lineage, messageId, path, (id) => {
      const target = hops.querySelector(`[data-message="${CSS.escape(id)}"]`);
      if (target) target.scrollIntoView({ behavior: "smooth", block: "nearest" });
      else renderLineage(container, runId, id, { compact });
    }),
    hops,
  );
}

/** From the human source to the message, following at each step the parent of the highest
 * generation (the longest model path, which `generation` counts). */
function pathBack(byId, messageId) {
  const path = [];
  let message = byId.get(messageId);
  while (message) {
    path.unshift(message);
    const parents = message.parents.map((id) => byId.get(id)).filter(Boolean);
    message = parents.sort((a, b) => b.generation - a.generation)[0];
  }
  return path;
}

function hop(message, parent, byId) {
  const merged = message.parents.length > 1;
  return h("li", { class: `hop ${message.origin}`, dataset: { message: message.id } },
    h("div", { class: "hop-head" },
      h("strong", {}, message.origin === "human" ? "human text" : `generation ${message.generation}`),
      ` · round ${message.round} · node ${message.node}`,
      message.persona ? ` · ${message.persona}` : "",
      ` · ${message.backend}${message.model ? ` (${message.model})` : ""}`),
    merged ? h("p", { class: "merge" }, `merged ${message.parents.length} texts: `,
      ...message.parents.map((id) => h("code", {}, byId.get(id)?.node ?? id, " ")), "(diff against the highest generation)") : "",
    h("p", { class: "text diff" }, ...(parent ? wordDiff(parent.text, message.text) : [message.text])),
    tags(message),
  );
}

/** Words kept as text, added as <ins>, removed as <del> (jsdiff's word diff). */
export function wordDiff(before, after) {
  return Diff.diffWords(before, after).map((part) =>
    part.added ? h("ins", {}, part.value) : part.removed ? h("del", {}, part.value) : part.value);
}

function tags(message) {
  const observed = Object.entries(message.observed || {});
  const facts = message.drift?.fact_retention;
  return h("details", { class: "tags" },
    h("summary", {}, `tags · retention ${number(facts)} · ${message.drift?.length_words ?? "?"} words · `,
      `${message.latency_ms ? `${Math.round(message.latency_ms)} ms · ` : ""}`,
      `${message.usage?.prompt_tokens ?? 0}+${message.usage?.completion_tokens ?? 0} tokens`),
    h("table", {},
      h("tr", {}, h("th", {}, "true tags"), h("td", {},
        `origin ${message.origin}, generation ${message.generation}, min_generation ${message.min_generation}, `,
        `human input share ${number(message.human_input_share, 2)}, roots ${message.n_roots || message.roots.length}`)),
      h("tr", {}, h("th", {}, "observed by"), h("td", {}, observed.length ? h("ul", {}, ...observed.map(([receiver, seen]) =>
        h("li", {}, `${receiver}: ${seen.tagged ? "tagged" : "tag lost"}, origin ${seen.origin}`,
          seen.generation !== null && seen.generation !== undefined ? `, generation ${seen.generation}` : ""))) : "no receiver")),
      h("tr", {}, h("th", {}, "agent"), h("td", {}, `${message.agent ?? "–"}, persona ${message.persona ?? "–"}, temperature ${message.temperature ?? "–"}, seed ${message.seed ?? "–"}`)),
      h("tr", {}, h("th", {}, "call"), h("td", {}, `${message.attempts} attempts, ${Math.round(message.latency_ms)} ms, finish ${message.finish_reason ?? "–"}${message.cached ? ", cached" : ""}${message.truncated ? ", truncated" : ""}`,
        message.errors.length ? ` · faults: ${message.errors.join("; ")}` : "")),
    ));
}

/** The lineage as an SVG: x by round, messages of a round stacked; the path highlighted. */
function dag(lineage, messageId, path, onPick) {
  let nodes = lineage.nodes;
  if (nodes.length > MAX_DAG) {
    const keep = new Set(path.map((message) => message.id));
    nodes = nodes.filter((message) => keep.has(message.id));
  }
  const shown = new Set(nodes.map((message) => message.id));
  const rounds = [...new Set(nodes.map((message) => message.round))].sort((a, b) => a - b);
  const column = new Map(rounds.map((round, i) => [round, i]));
  const rows = new Map();
  const place = new Map();
  for (const message of [...nodes].sort((a, b) => a.round - b.round || a.node.localeCompare(b.node))) {
    const row = rows.get(message.round) || 0;
    rows.set(message.round, row + 1);
    place.set(message.id, { x: 20 + column.get(message.round) * 60, y: 16 + row * 22 });
  }
  const onPath = new Set(path.map((message) => message.id));
  const width = 40 + (rounds.length - 1) * 60;
  const height = 32 + (Math.max(...rows.values()) - 1) * 22;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "dag");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  const draw = (tag, attributes, text) => {
    const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    if (text) element.textContent = text;
    svg.append(element);
    return element;
  };
  for (const edge of lineage.edges) {
    if (!shown.has(edge.source) || !shown.has(edge.target)) continue;
    const [a, b] = [place.get(edge.source), place.get(edge.target)];
    const both = onPath.has(edge.source) && onPath.has(edge.target);
    draw("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: both ? "path" : "" });
  }
  for (const message of nodes) {
    const at = place.get(message.id);
    const circle = draw("circle", {
      cx: at.x, cy: at.y, r: message.id === messageId ? 8 : 6,
      class: `${message.origin}${onPath.has(message.id) ? " on-path" : ""}${message.parents.length > 1 ? " merge" : ""}`,
    });
    draw("title", {}, `${message.id}\ngeneration ${message.generation}`);
    circle.append(svg.lastChild);
    circle.addEventListener("click", () => onPick(message.id));
  }
  const note = nodes.length < lineage.nodes.length ? `${lineage.nodes.length} messages: only the path is drawn` : `${nodes.length} messages; blue: human, ringed: merges; click to jump`;
  return h("figure", { class: "dag-box" }, svg, h("figcaption", {}, note));
}
