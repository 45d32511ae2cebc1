// Compare runs (their drift curves overlaid) or a study's conditions: per-round curves with
// 95% bands over replicates (one value per run and round: the run's mean), the phase diagram
// of a two-axis grid, and the per-condition table of the study summary.
import * as api from "./api.js";
import { h, badge, number, errorBox } from "./dom.js";
import { lineChart, PALETTE } from "./charts.js";

const NOT_METRICS = new Set(["round", "generation", "min_generation", "n", "agents", "spoke", "ever_spoke", "n_embedded", "population_n_embedded", "fresh_human"]);
// two-sided 95% t quantiles for 1..30 degrees of freedom; 1.96 beyond
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export async function renderCompareRuns(view, ids) {
  view.append(h("h1", {}, ids.length > 1 ? `Compare ${ids.length} runs` : "Drift tables"));
  const drifts = await Promise.all(ids.map((id) => api.get(`${api.run(id)}/drift`).catch((error) => ({ run: id, error }))));
  for (const failed of drifts.filter((drift) => drift.error)) view.append(errorBox(`${failed.run}: ${failed.error.message}`));
  const found = drifts.filter((drift) => !drift.error);
  const metrics = metricsOf(found.flatMap((drift) => [...drift.drift_by_round, ...drift.drift]));
  const metric = metricSelect(metrics);
  const charts = h("div", { class: "charts" });
  view.append(h("div", { class: "toolbar" }, metric), charts);
  const draw = () => {
    charts.replaceChildren();
    for (const [table, x] of [["drift_by_round", "round"], ["drift", "generation"]]) {
      const box = h("div", { class: "chart" });
      charts.append(box);
      const steps = [...new Set(found.flatMap((drift) => drift[table].map((row) => row[x])))].sort((a, b) => a - b);
      const chart = lineChart(box, {
        title: `${metric.value} by ${x}`, x, y: metric.value,
        series: found.map((drift, i) => ({ label: drift.run, colour: PALETTE[i % PALETTE.length] })),
      });
      chart.setData([steps, ...found.map((drift) => {
        const at = new Map(drift[table].map((row) => [row[x], row[metric.value]]));
        return steps.map((step) => at.get(step) ?? null);
      })]);
    }
    if (!found.some((drift) => drift.drift.length)) charts.append(h("p", { class: "hint" }, "No drift table yet: a run's tables are filled once it has finished."));
  };
  metric.addEventListener("change", draw);
  draw();
}

export async function renderStudy(view, studyId) {
  const header = h("div");
  const body = h("div");
  view.append(header, body);
  let timer = null;
  const load = async () => {
    let study;
    try {
      study = await api.get(api.study(studyId));
    } catch (error) {
      return header.replaceChildren(errorBox(error));
    }
    header.replaceChildren(
      h("h1", {}, "Study ", h("code", {}, study.id), " ", badge(study.status)),
      h("p", {}, `${study.conditions.length} conditions · ${study.runs.length} runs · outcome: ${study.outcome} · `,
        h("progress", { max: 1, value: study.progress.fraction }), ` ${study.progress.finished}/${study.progress.total} finished`),
      study.error ? errorBox(study.error) : "",
    );
    if (!api.FINAL.has(study.status)) {
      timer = setTimeout(load, 3000);
      body.replaceChildren(h("p", { class: "hint" }, "The comparison is drawn once the study has finished."));
      return;
    }
    await drawStudy(body, study);
    view.dataset.ready = "true";
  };
  load();
  return () => clearTimeout(timer);
}

async function drawStudy(body, study) {
  const runs = study.runs.filter((run) => run.status === "succeeded");
  const drifts = new Map(await Promise.all(runs.map(async (run) => [run.id, await api.get(`${api.run(run.id)}/drift`)])));
  const metrics = metricsOf([...drifts.values()].flatMap((drift) => drift.drift_by_round));
  const metric = metricSelect(metrics);
  const chartBox = h("div", { class: "chart wide" });
  const summary = h("div", { id: "summary" });
  const phase = h("div", { id: "phase" });
  body.replaceChildren(h("div", { class: "toolbar" }, metric), chartBox, h("h2", {}, "Per condition"), summary, phase);
  const draw = () => {
    chartBox.replaceChildren();
    const conditions = study.conditions.map((condition) => condition.name);
    const curves = conditions.map((name) => bandOver(runs.filter((run) => run.condition === name).map((run) => drifts.get(run.id).drift_by_round), metric.value));
    const steps = [...new Set(curves.flatMap((curve) => [...curve.keys()]))].sort((a, b) => a - b);
    const chart = lineChart(chartBox, {
      title: `${metric.value} by round: mean of the runs' means, 95% t interval over replicates (n = runs per condition)`,
      x: "round", y: metric.value, width: 900, height: 360,
      series: conditions.map((name, i) => ({ label: name, colour: PALETTE[i % PALETTE.length], band: true })),
    });
    chart.setData([steps, ...curves.flatMap((curve) => ["mean", "low", "high"].map((key) => steps.map((step) => curve.get(step)?.[key] ?? null)))]);
  };
  metric.addEventListener("change", draw);
  draw();
  try {
    const table = summaryTable(await api.get(`${api.study(study.id)}/summary`));
    summary.replaceChildren(table.note ? h("p", { class: "error" }, table.note) : "", h("table", { class: "summary" },
      h("tr", {}, ...table.columns.map((name) => h("th", {}, name))),
      ...table.rows.map((row) => h("tr", {}, ...row.map((cell) => h("td", { class: cell === "supported" ? "supported" : cell === "not supported" ? "unsupported" : "" }, cell))))));
  } catch (error) {
    summary.replaceChildren(errorBox(error));
  }
  if (study.outputs.includes("phase.png")) {
    phase.replaceChildren(h("h2", {}, "Phase diagram"), h("img", { alt: "phase diagram", src: await api.blobUrl(`${api.study(study.id)}/phase.png`) }));
  }
}

/** The study summary as a table. The one place that knows the summary's field names: each
 * condition's final-round metrics (`conditions`: {condition, round, metrics: {name: {n, mean,
 * ci_low, ci_high}}}) and, when the summary has them, the paired comparisons with the baseline
 * (`statistics.comparisons`: {measure, condition, baseline, test: {difference, ci_low,
 * ci_high, p}, p_holm, supported}). */
export function summaryTable(summary) {
  const conditions = summary.conditions || [];
  const statistics = summary.statistics || {};
  const comparisons = statistics.comparisons || summary.comparisons || [];
  const names = [...new Set(conditions.flatMap((condition) => Object.keys(condition.metrics || {})))];
  const shown = names.filter((name) => ["fact_retention", "length_words", "cosine"].includes(name));
  const columns = ["condition", "round", ...shown.map((name) => `${name} mean [95% CI] (n)`)];
  if (comparisons.length) columns.push("difference from the baseline [95% CI], Holm-adjusted p", "verdict");
  const signed = (value) => (value > 0 ? `+${number(value)}` : number(value));
  const rows = conditions.map((condition) => {
    const cells = [condition.condition, String(condition.round ?? "–"), ...shown.map((name) => {
      const m = condition.metrics[name];
      return m ? `${number(m.mean)} [${number(m.ci_low)}, ${number(m.ci_high)}] (${m.n})` : "–";
    })];
    if (comparisons.length) {
      const own = comparisons.filter((item) => item.condition === condition.condition);
      cells.push(
        own.map((c) => `${c.measure}: ${signed(c.test?.difference)} [${number(c.test?.ci_low)}, ${number(c.test?.ci_high)}], p ${number(c.p_holm, 3)}`).join("; ") || "–",
        condition.condition === statistics.baseline ? "baseline" : own.length ? (own.some((c) => c.supported) ? "supported" : "not supported") : "–",
      );
    }
    return cells;
  });
  const note = statistics.unreliable ? `fewer than 5 replicates in some condition (${statistics.fewest_replicates}): the intervals are unreliable` : "";
  return { columns, rows, note };
}

/** Per round: mean and 95% t interval of a metric over runs (one value per run); a share's
 * interval is cut to [0, 1]. */
function bandOver(tables, metric) {
  const bounded = /retention|share/.test(metric);
  const values = new Map();
  for (const table of tables) {
    for (const row of table) {
      if (row[metric] === null || row[metric] === undefined) continue;
      values.set(row.round, [...(values.get(row.round) || []), row[metric]]);
    }
  }
  const band = new Map();
  for (const [round, sample] of values) {
    const n = sample.length;
    const mean = sample.reduce((a, b) => a + b, 0) / n;
    if (n < 2) {
      band.set(round, { mean, low: null, high: null });
      continue;
    }
    const sd = Math.sqrt(sample.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1));
    const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
    const [floor, ceiling] = bounded ? [0, 1] : [-Infinity, Infinity];
    band.set(round, { mean, low: Math.max(floor, mean - half), high: Math.min(ceiling, mean + half) });
  }
  return band;
}

function metricsOf(rows) {
  const names = new Set();
  for (const row of rows) for (const [name, value] of Object.entries(row)) if (!NOT_METRICS.has(name) && typeof value === "number") names.add(name);
  return [...names];
}

function metricSelect(metrics) {
  const preferred = ["fact_retention", "population_fact_retention", "length_words"].find((name) => metrics.includes(name)) ?? metrics[0];
  const select = h("select", { id: "metric" }, ...metrics.map((name) => h("option", { value: name, selected: name === preferred }, name)));
  return select;
}
