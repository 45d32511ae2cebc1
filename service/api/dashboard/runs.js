// Runs and studies: status, progress, start time and a summary of each; filter, sort,
// cancel, delete; pick runs to compare. The lists are read again every few seconds.
import * as api from "./api.js";
import { h, badge, when, errorBox } from "./dom.js";

const SORTS = {
  newest: (a, b) => (b.started || "").localeCompare(a.started || ""),
  oldest: (a, b) => (a.started || "").localeCompare(b.started || ""),
  id: (a, b) => a.id.localeCompare(b.id),
  status: (a, b) => a.status.localeCompare(b.status),
  progress: (a, b) => b.progress - a.progress,
};

export function renderRuns(view) {
  const filter = h("input", { id: "filter", type: "search", placeholder: "filter by id, status, backend…" });
  const sort = h("select", { id: "sort" }, ...Object.keys(SORTS).map((key) => h("option", { value: key }, `sort: ${key}`)));
  const compare = h("button", { id: "compare", disabled: true }, "Compare selected runs");
  const runsTable = h("table", { id: "runs" });
  const studiesTable = h("table", { id: "studies" });
  const message = h("div");
  const selected = new Set();
  view.append(
    h("h1", {}, "Runs and studies"),
    h("div", { class: "toolbar" }, filter, sort, compare, h("a", { class: "button", href: "#/new" }, "New run…")),
    message,
    h("h2", {}, "Studies"),
    studiesTable,
    h("h2", {}, "Runs"),
    runsTable,
  );
  let runs = [];
  let studies = [];
  let shown = "";
  filter.addEventListener("input", draw);
  sort.addEventListener("change", draw);
  compare.addEventListener("click", () => {
    location.hash = `#/compare/${[...selected].map(encodeURIComponent).join(",")}`;
  });

  async function load() {
    try {
      const [runItems, studyItems] = await Promise.all([api.all("/v1/runs"), api.all("/v1/studies")]);
      const seen = JSON.stringify([runItems, studyItems]);
      if (seen === shown) return; // redraw only on a change: rows under the pointer stay put
      shown = seen;
      runs = runItems.map(runRow);
      studies = studyItems.map(studyRow);
      draw();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  }

  function draw() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const keep = (row) => words.every((word) => row.text.includes(word));
    const order = SORTS[sort.value];
    studiesTable.replaceChildren(
      h("tr", {}, ...["study", "status", "progress", "started", "conditions", ""].map((name) => h("th", {}, name))),
      ...studies.filter(keep).sort(order).map((row) =>
        h("tr", { dataset: { study: row.id } },
          h("td", {}, h("a", { href: `#/study/${encodeURIComponent(row.id)}` }, row.id)),
          h("td", {}, badge(row.status)),
          h("td", {}, progress(row.progress)),
          h("td", {}, when(row.started)),
          h("td", {}, row.summary),
          h("td", { class: "actions" },
            h("a", { href: `#/study/${encodeURIComponent(row.id)}` }, "compare conditions"),
            row.live && h("button", { onclick: () => act(`cancel study ${row.id} and its live runs?`, () => api.post(`${api.study(row.id)}/cancel`)) }, "Cancel"),
            h("button", { class: "danger", onclick: () => act(`delete study ${row.id}${row.live ? " (cancelling it first)" : ""}? Its ${row.runs} runs and their messages are removed.`, () => api.del(`${api.study(row.id)}${row.live ? "?force=true" : ""}`)) }, "Delete"),
          ),
        )),
    );
    runsTable.replaceChildren(
      h("tr", {}, ...["", "run", "status", "progress", "started", "spec", ""].map((name) => h("th", {}, name))),
      ...runs.filter(keep).sort(order).map((row) =>
        h("tr", { dataset: { run: row.id } },
          h("td", {}, h("input", { type: "checkbox", checked: selected.has(row.id), onchange: (event) => {
            event.target.checked ? selected.add(row.id) : selected.delete(row.id);
            compare.disabled = selected.size < 2;
          } })),
          h("td", {}, h("a", { href: `#/run/${encodeURIComponent(row.id)}` }, row.id)),
          h("td", {}, badge(row.status)),
          h("td", {}, progress(row.progress)),
          h("td", {}, when(row.started)),
          h("td", {}, row.summary),
          h("td", { class: "actions" },
            row.live && h("button", { onclick: () => act(`cancel run ${row.id}?`, () => api.post(`${api.run(row.id)}/cancel`)) }, "Cancel"),
            h("button", { class: "danger", onclick: () => act(`delete run ${row.id}${row.live ? " (cancelling it first)" : ""}? Its messages are removed.`, () => api.del(`${api.run(row.id)}${row.live ? "?force=true" : ""}`)) }, "Delete"),
          ),
        )),
    );
  }

  async function act(question, action) {
    if (!confirm(question)) return;
    try {
      await action();
      load();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  }

  load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

function runRow(view) {
  const record = view.record || {};
  const rounds = record.rounds || 0;
  const done = api.FINAL.has(view.status) ? rounds : record.rounds_done || 0;
  const summary = [record.backend, record.agents && `${record.agents} agents`, rounds && `${rounds} rounds`,
    record.counts && `${record.counts.messages} messages`].filter(Boolean).join(" · ");
  return {
    id: view.id,
    status: view.status,
    live: !api.FINAL.has(view.status),
    started: record.started_at || record.created_at,
    progress: rounds ? done / rounds : 0,
    summary,
    text: `${view.id} ${view.status} ${summary}`.toLowerCase(),
  };
}

function studyRow(view) {
  const summary = `${view.conditions.length} conditions · ${view.runs.length} runs · ${view.outcome}`;
  return {
    id: view.id,
    status: view.status,
    started: view.started_at,
    live: !api.FINAL.has(view.status),
    runs: view.runs.length,
    progress: view.progress.fraction,
    summary,
    text: `${view.id} ${view.name} ${view.status} ${summary}`.toLowerCase(),
  };
}

function progress(fraction) {
  return h("progress", { max: 1, value: fraction, title: `${Math.round(fraction * 100)}%` });
}
