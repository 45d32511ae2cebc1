// Line charts with uPlot: one x axis, a series per name, optional bands (low, high) around
// a series.
export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

/** `series`: [{label, colour, band: true}] — a band series is followed by its low and high. */
export function lineChart(container, { title, x, y, series, width = 520, height = 260 }) {
  const all = [{ label: x }];
  const bands = [];
  for (const line of series) {
    all.push({ label: line.label, stroke: line.colour, width: 2, spanGaps: true, points: { size: 5 } });
    if (line.band) {
      const at = all.length;
      all.push({ label: `${line.label} low`, stroke: "transparent", points: { show: false } });
      all.push({ label: `${line.label} high`, stroke: "transparent", points: { show: false } });
      bands.push({ series: [at + 1, at], fill: `${line.colour}33` });
    }
  }
  const chart = new uPlot(
    {
      title,
      width,
      height,
      scales: { x: { time: false } },
      axes: [{ label: x, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { label: y, size: 60 }],
      series: all,
      bands,
      legend: { live: false },
    },
    [[], ...all.slice(1).map(() => [])],
    container,
  );
  const rows = chart.root.querySelectorAll(".u-legend .u-series");
  const offset = all.length - rows.length; // the x series has no row when the legend is not live
  bands.forEach(({ series }) => series.forEach((index) => (rows[index - offset].style.display = "none")));
  return chart;
}
