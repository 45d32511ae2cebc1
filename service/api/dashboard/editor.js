// Start a run or a study from a bundled example or pasted YAML. The spec is checked as it is
// typed: YAML syntax here, a run spec by the server's own validation (POST
// /v1/topologies/preview, which builds the graph without running it), a study's fields
// against its schema in /v1/openapi.json; each problem is written beside its line.
import * as api from "./api.js";
import { h, errorBox } from "./dom.js";

export async function renderEditor(view) {
  const text = h("textarea", { id: "spec", spellcheck: "false", wrap: "off" });
  const backdrop = h("pre", { class: "backdrop", "aria-hidden": "true" });
  const status = h("p", { id: "spec-status" });
  const start = h("button", { id: "start", disabled: true }, "Start");
  const examples = h("select", { id: "example" }, h("option", { value: "" }, "a bundled example…"));
  view.append(
    h("h1", {}, "New run or study"),
    h("div", { class: "toolbar" }, examples, start),
    h("div", { class: "editor" }, backdrop, text),
    status,
  );
  let found = [];
  api.get("/v1/examples").then((page) => {
    found = page.items;
    for (const example of found) examples.append(h("option", { value: example.name }, `${example.name} (${example.kind})`));
  }, (error) => status.replaceChildren(errorBox(error)));
  examples.addEventListener("change", () => {
    const example = found.find((item) => item.name === examples.value);
    if (example) text.value = example.yaml;
    check();
  });
  let timer;
  let checked = null;
  let studySchema = null;
  text.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
  text.addEventListener("scroll", () => {
    backdrop.scrollTop = text.scrollTop;
    backdrop.scrollLeft = text.scrollLeft;
  });
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const created = await api.post(checked.study ? "/v1/studies" : "/v1/runs", checked.body);
      location.hash = checked.study ? `#/study/${encodeURIComponent(created.id)}` : `#/run/${encodeURIComponent(created.id)}`;
    } catch (error) {
      show(error.problems.length ? error.problems : [{ field: "", message: error.message }]);
      start.disabled = false;
    }
  });

  async function check() {
    const source = text.value;
    checked = null;
    start.disabled = true;
    let body;
    try {
      body = jsyaml.load(source);
    } catch (error) {
      return show([{ line: error.mark?.line ?? 0, field: "", message: error.reason || error.message }]);
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) return show([{ field: "", message: "a spec is a YAML mapping" }]);
    const study = "base" in body;
    let problems = [];
    let summary = "";
    try {
      if (study) {
        studySchema ??= await schemaOf("StudySpec");
        problems = studyProblems(body, studySchema);
        summary = `a study: ${Object.keys(body.grid || {}).length} grid axes, ${body.replicates ?? "default"} replicates`;
      } else {
        const preview = await api.post("/v1/topologies/preview", body);
        summary = `a run: ${preview.agents} agents, ${preview.human_sources} human sources, ${preview.edges.length} edges`;
      }
    } catch (error) {
      problems = error.problems?.length ? error.problems : [{ field: "", message: error.message }];
    }
    if (source !== text.value) return;
    show(problems, summary);
    if (!problems.length) {
      checked = { study, body };
      start.disabled = false;
    }
  }

  function show(problems, summary = "") {
    const lines = text.value.split("\n");
    const notes = new Map();
    for (const problem of problems) {
      const line = problem.line ?? lineOf(lines, problem.field);
      notes.set(line, [...(notes.get(line) || []), problem.field ? `${problem.field}: ${problem.message}` : problem.message]);
    }
    backdrop.replaceChildren(
      ...lines.map((line, index) =>
        notes.has(index)
          ? h("div", { class: "bad" }, h("span", {}, line || " "), h("span", { class: "note", role: "alert" }, `⟵ ${notes.get(index).join("; ")}`))
          : h("div", {}, line || " "),
      ),
    );
    status.className = problems.length ? "error" : "ok";
    status.textContent = problems.length ? `${problems.length} problem(s)` : `valid: ${summary}`;
  }
}

/** The line of a dotted field path (`topology.n_agents`, `source.facts.2.patterns`): each
 * key is looked for below its parent, deeper indented; a number is the n-th list item. */
export function lineOf(lines, field) {
  const parts = String(field || "").replace(/^condition \[[^\]]*\] /, "").split(".").filter(Boolean);
  let at = 0;
  let indent = -1;
  let found = 0;
  for (const part of parts) {
    let index = -1;
    let count = 0;
    for (let i = at + (found ? 1 : 0); i < lines.length; i++) {
      const line = lines[i];
      if (!line.trim() || line.trim().startsWith("#")) continue;
      const depth = line.search(/\S/);
      if (depth <= indent && i > at) break;
      if (/^\d+$/.test(part)) {
        if (/^\s*- /.test(line) && count++ === Number(part)) index = i;
      } else if (new RegExp(`(^\\s*(- )?|[{,]\\s*)${part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*:`).test(line)) {
        index = i;
      }
      if (index >= 0) break;
    }
    if (index < 0) break;
    at = found = index;
    indent = lines[index].search(/\S/) + (/^\s*- /.test(lines[index]) ? 1 : 0);
  }
  return found;
}

async function schemaOf(name) {
  const document = await api.get("/v1/openapi.json");
  return document.components.schemas[name];
}

/** Unknown and missing top-level fields of a study (the server checks the rest on start). */
function studyProblems(body, schema) {
  const problems = [];
  for (const key of Object.keys(body)) {
    if (schema.properties && !(key in schema.properties)) problems.push({ field: key, message: "not a study field" });
  }
  for (const key of schema.required || []) {
    if (!(key in body)) problems.push({ field: "", message: `${key} is required` });
  }
  return problems;
}
