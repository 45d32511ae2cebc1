// A run as it happens: the graph coloured by each agent's latest message, drift curves by
// generation and by round, counts, calls, faults, tokens and ETA, all from the run's event
// stream (no polling; a dropped stream resumes from Last-Event-ID). A click on a node opens
// the lineage of its latest message.
import * as api from "./api.js";
import { h, badge, number, errorBox } from "./dom.js";
import { LiveGraph } from "./graph.js";
import { lineChart } from "./charts.js";
import { renderLineage } from "./lineage.js";

const METRICS = { fact_retention: "fact retention", relative_length: "length / source length" };

export function renderRun(view, runId) {
  const aborter = new AbortController();
  const status = h("span", { id: "run-status" }, badge("queued"));
  const stats = h("dl", { id: "run-stats", class: "stats" });
  const bar = h("progress", { id: "run-progress", max: 1, value: 0 });
  const metric = h("select", { id: "colour-by" }, ...Object.entries(METRICS).map(([key, label]) => h("option", { value: key }, `colour: ${label}`)));
  const canvas = h("div", { id: "graph", class: "graph" });
  const lineage = h("aside", { id: "lineage", class: "drawer" }, h("p", { class: "hint" }, "Click a node to follow its latest message back to the human source."));
  const byGeneration = h("div", { class: "chart" });
  const byRound = h("div", { class: "chart" });
  const cancel = h("button", { id: "cancel", onclick: async () => {
    if (!confirm(`cancel run ${runId}?`)) return;
    await api.post(`${api.run(runId)}/cancel`).catch((error) => stats.after(errorBox(error)));
  } }, "Cancel run");
  const legend = h("p", { class: "legend" },
    h("span", { class: "swatch", style: "background:#2b6cb0" }), "human source ",
    h("span", { class: "swatch", style: "background:linear-gradient(90deg,#d7301f,#fee08b,#1a9850)" }), "drift: 0 → 1 ",
    h("span", { class: "swatch", style: "background:#c9ced6" }), "not spoken yet ",
    h("span", { class: "swatch", style: "background:#f08c00" }), "message passing · larger node: merged 2+ texts");
  view.append(
    h("h1", {}, "Run ", h("code", {}, runId), " ", status),
    h("div", { class: "toolbar" }, bar, metric, cancel, h("a", { href: `#/compare/${encodeURIComponent(runId)}` }, "drift tables"), h("a", { href: `${api.run(runId)}/export`, download: true }, "export")),
    stats,
    legend,
    h("div", { class: "live" }, canvas, lineage),
    h("div", { class: "charts" }, byGeneration, byRound),
  );
  const state = new RunState(runId);
  const charts = {
    generation: lineChart(byGeneration, { title: "Drift by generation", x: "generation", y: "mean", series: seriesFor() }),
    round: lineChart(byRound, { title: "Drift by round (model messages)", x: "round", y: "mean", series: seriesFor() }),
  };
  let graph = null;
  let pending = [];
  metric.addEventListener("change", () => {
    metric.dataset.chosen = "true";
    graph?.update(state.latest(metric.value));
  });

  const openLineage = (node) => {
    const message = state.latestId.get(node);
    if (!message) return lineage.replaceChildren(h("p", { class: "hint" }, `${node} has not spoken yet.`));
    renderLineage(lineage, runId, message, { compact: true });
  };
  let loading = null;
  const loadGraph = () => (loading ??= drawGraph());
  const drawGraph = async () => {
    try {
      const topology = await api.get(`${api.run(runId)}/topology`);
      if (aborter.signal.aborted) return;
      graph = new LiveGraph(canvas, topology, openLineage);
      canvas.liveGraph = graph; // for tests and the console
      graph.update(state.latest(metric.value));
      view.dataset.graphReady = "true";
    } catch (error) {
      if (error.status === 404) loading = null; // not stored yet: asked again once running
      else canvas.replaceChildren(errorBox(error));
    }
  };
  const onEvent = (event) => {
    state.add(event);
    if (event.type === "status") status.replaceChildren(badge(event.data.status));
    if (event.type === "status" && event.data.status === "running") loadGraph();
    if (event.type === "round") {
      if (state.colourDefault && !metric.dataset.chosen) metric.value = state.colourDefault;
      pending.push(state.messagesOf(event.data, metric.value));
    }
    if (!flush.scheduled) {
      flush.scheduled = true;
      requestAnimationFrame(flush);
    }
  };
  function flush() {
    flush.scheduled = false;
    if (graph) pending.forEach((messages) => graph.update(messages));
    pending = [];
    bar.value = state.progress();
    stats.replaceChildren(...Object.entries(state.stats()).flatMap(([name, value]) => [h("dt", {}, name), h("dd", { dataset: { stat: name } }, value)]));
    charts.generation.setData(state.curve("generation"));
    charts.round.setData(state.curve("round"));
    view.dataset.rounds = String(state.rounds.length);
  }
  loadGraph(); // at once, beside the run's own request: the graph is most of the first render
  api.get(api.run(runId)).then((run) => status.replaceChildren(badge(run.status))).catch((error) => view.append(errorBox(error)));
  api.followEvents(runId, onEvent, aborter.signal).catch((error) => aborter.signal.aborted || view.append(errorBox(error)));
  return () => {
    aborter.abort();
    graph?.kill();
  };
}

function seriesFor() {
  return [
    { label: METRICS.fact_retention, colour: "#1a9850" },
    { label: METRICS.relative_length, colour: "#1f77b4" },
  ];
}

/** What the events have told so far. */
class RunState {
  constructor(runId) {
    this.runId = runId;
    this.rounds = [];
    this.totalRounds = 0;
    this.counts = {};
    this.faults = {};
    this.sourceLength = null;
    this.colourDefault = null;
    this.latestId = new Map();
    this.latestValues = new Map();
    this.generations = new Map();
  }

  add(event) {
    const data = event.data;
    if (data.rounds) this.totalRounds = data.rounds;
    if (event.type !== "round") return;
    this.rounds.push(data);
    for (const [name, value] of Object.entries(data.counts || {})) this.counts[name] = (this.counts[name] || 0) + value;
    for (const [name, value] of Object.entries(data.faults || {})) this.faults[name] = (this.faults[name] || 0) + value;
    const columns = data.message_drift;
    if (!columns) return;
    data.message_ids.forEach((id, i) => {
      const generation = columns.generation[i];
      const length = columns.length_words[i];
      const retention = columns.fact_retention[i];
      if (generation === 0 && this.sourceLength === null) {
        this.sourceLength = length || 1;
        this.colourDefault = retention === null ? "relative_length" : "fact_retention";
      }
      const cell = this.generations.get(generation) || { n: 0, length: 0, retention: 0, retained: 0 };
      cell.n += 1;
      cell.length += length;
      if (retention !== null) {
        cell.retention += retention;
        cell.retained += 1;
      }
      this.generations.set(generation, cell);
    });
  }

  /** The node of a message id `RUN:REPLICATE:ROUND:NODE`. */
  nodeOf(messageId) {
    const rest = messageId.slice(this.runId.length + 1);
    return rest.slice(rest.indexOf(":", rest.indexOf(":") + 1) + 1);
  }

  /** This round's messages for the graph, valued by `metric`. */
  messagesOf(data, metric) {
    const columns = data.message_drift;
    return data.message_ids.map((id, i) => {
      const node = this.nodeOf(id);
      const value = !columns ? null : metric === "fact_retention" ? columns.fact_retention[i] : columns.length_words[i] / (this.sourceLength || 1);
      this.latestId.set(node, id);
      this.latestValues.set(node, { id, index: i, data });
      return { node, value, parents: data.message_parents?.[i] || [] };
    });
  }

  /** Every node's latest message, valued by `metric` (after a change of metric). */
  latest(metric) {
    return [...this.latestValues.entries()].map(([node, { index, data }]) => {
      const columns = data.message_drift;
      const value = !columns ? null : metric === "fact_retention" ? columns.fact_retention[index] : columns.length_words[index] / (this.sourceLength || 1);
      return { node, value, parents: [] };
    });
  }

  progress() {
    return this.totalRounds ? this.rounds.length / this.totalRounds : 0;
  }

  stats() {
    const seconds = this.rounds.map((round) => round.seconds);
    const mean = seconds.length ? seconds.reduce((a, b) => a + b, 0) / seconds.length : null;
    const left = Math.max(0, this.totalRounds - this.rounds.length);
    const faults = Object.entries(this.faults).filter(([, n]) => n).map(([kind, n]) => `${kind} ${n}`).join(", ");
    const last = this.rounds.at(-1)?.drift;
    return {
      rounds: `${this.rounds.length} / ${this.totalRounds || "?"}`,
      messages: `${this.counts.messages || 0} (${this.counts.human || 0} human, ${this.counts.model || 0} model)`,
      "LLM calls": this.counts.llm_calls || 0,
      tokens: `${this.counts.prompt_tokens || 0} in, ${this.counts.completion_tokens || 0} out`,
      faults: faults || "none",
      "skips / failed steps": `${this.counts.skips || 0} / ${this.counts.failed_steps || 0}`,
      "last round": last ? `retention ${number(last.fact_retention)}, ${number(last.length_words, 0)} words` : "–",
      ETA: mean === null || !left ? "–" : `${Math.round(mean * left)} s`,
    };
  }

  /** uPlot data: x, fact retention, relative length. */
  curve(by) {
    const length = this.sourceLength || 1;
    if (by === "generation") {
      const keys = [...this.generations.keys()].sort((a, b) => a - b);
      const cells = keys.map((key) => this.generations.get(key));
      return [keys, cells.map((c) => (c.retained ? c.retention / c.retained : null)), cells.map((c) => c.length / c.n / length)];
    }
    const rounds = this.rounds.filter((round) => round.drift?.model_messages);
    return [rounds.map((r) => r.round), rounds.map((r) => r.drift.fact_retention), rounds.map((r) => r.drift.length_words / length)];
  }
}
