"""The calibration report: real versus synthetic curves per generation (CSV, PNG, markdown)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.channel import Channel
from service.calibrate.curves import CURVE_METRICS
from service.calibrate.fit import GRID, rmse

LABELS = {
    "fact_retention": "fact retention",
    "length_ratio": "length / source length",
    "cosine": "cosine distance to source",
}


@dataclass(frozen=True)
class Calibration:
    """What one calibration found."""

    model: str
    sources: list[str]
    personas: list[str]
    generations: int
    real: dict[str, np.ndarray]
    synthetic: dict[str, np.ndarray]  # under the fitted channel
    legacy: dict[str, np.ndarray]  # under Channel.LEGACY, for comparison
    channel: Channel
    notes: list[str]


def errors(calibration: Calibration, curves: dict[str, np.ndarray]) -> dict[str, float]:
    """RMSE per measured metric between the real curves and `curves`."""
    return {
        m: rmse(calibration.real[m], curves[m])
        for m in CURVE_METRICS
        if not np.isnan(rmse(calibration.real[m], curves[m]))
    }


def shape(curve: np.ndarray) -> tuple[float, float]:
    """(early drop, late slope): the fall over the first three generations, and the mean
    change per generation over the second half (near 0: a plateau)."""
    g = len(curve) - 1
    early = float(curve[0] - curve[min(3, g)])
    half = max(1, g // 2)
    late = float((curve[g] - curve[half]) / max(1, g - half))
    return early, late


def write_report(calibration: Calibration, out_dir: Path) -> list[Path]:
    """curves.csv, curves.png and report.md under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _write_csv(calibration, out_dir / "curves.csv"),
        _write_png(calibration, out_dir / "curves.png"),
        _write_markdown(calibration, out_dir / "report.md"),
    ]


def _write_csv(calibration: Calibration, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["generation", "metric", "real", "synthetic_fitted", "synthetic_legacy"])
        for metric in CURVE_METRICS:
            for g in range(calibration.generations + 1):
                writer.writerow(
                    [
                        g,
                        metric,
                        *(
                            _cell(curves[metric][g])
                            for curves in (
                                calibration.real,
                                calibration.synthetic,
                                calibration.legacy,
                            )
                        ),
                    ]
                )
    return path


def _cell(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.4f}"


def _write_png(calibration: Calibration, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = [m for m in CURVE_METRICS if not np.all(np.isnan(calibration.real[m][1:]))]
    fitted, legacy = (
        errors(calibration, calibration.synthetic),
        errors(calibration, calibration.legacy),
    )
    figure = Figure(figsize=(4.2 * len(shown), 3.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(shown), squeeze=False)
    x = np.arange(calibration.generations + 1)
    for axis, metric in zip(axes[0], shown, strict=True):
        axis.plot(x, calibration.real[metric], "o-", color="black", label=calibration.model)
        axis.plot(
            x,
            calibration.synthetic[metric],
            "s--",
            color="tab:blue",
            label=f"synthetic, fitted (RMSE {fitted[metric]:.3f})",
        )
        axis.plot(
            x,
            calibration.legacy[metric],
            ":",
            color="tab:red",
            label=f"synthetic, before (RMSE {legacy[metric]:.3f})",
        )
        axis.set_xlabel("generation")
        axis.set_title(LABELS[metric])
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.suptitle(
        f"{len(calibration.sources)} sources x {len(calibration.personas)} personas, "
        f"{calibration.generations} generations",
        fontsize=9,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def _write_markdown(calibration: Calibration, path: Path) -> Path:
    fitted = errors(calibration, calibration.synthetic)
    legacy = errors(calibration, calibration.legacy)
    channel = calibration.channel
    lines = [
        f"# Channel calibration against {calibration.model}",
        "",
        f"Sources: {', '.join(calibration.sources)}; personas: "
        f"{', '.join(calibration.personas)}; {calibration.generations} generations; one chain "
        "per source and persona on the model, the channel's curves averaged over its "
        "simulated chains.",
        "",
        "## Fitted parameters",
        "",
        "| parameter | fitted | before calibration |",
        "|---|---|---|",
        *(
            f"| {name} | {getattr(channel, name)} | {Channel.LEGACY[name]} |"
            for name in Channel.LEGACY
        ),
        "",
        f"## Fit error (RMSE per generation, generations 1 to {calibration.generations})",
        "",
        "| metric | fitted channel | channel before calibration |",
        "|---|---|---|",
        *(f"| {LABELS[m]} | {fitted[m]:.3f} | {legacy.get(m, float('nan')):.3f} |" for m in fitted),
        "",
        "## Shape",
        "",
        "Early drop: fall over generations 0 to 3; late slope: mean change per generation over "
        "the second half (near 0: a plateau).",
        "",
        "| metric | curve | early drop | late slope |",
        "|---|---|---|---|",
    ]
    for metric in fitted:
        for label, curves in (
            ("real", calibration.real),
            ("fitted", calibration.synthetic),
            ("before", calibration.legacy),
        ):
            early, late = shape(curves[metric])
            lines.append(f"| {LABELS[metric]} | {label} | {early:+.3f} | {late:+.4f} |")
    lines += [
        "",
        "## Curves",
        "",
        "| generation | "
        + " | ".join(f"{LABELS[m]}: real / fitted / before" for m in fitted)
        + " |",
        "|---|" + "---|" * len(fitted),
    ]
    for g in range(calibration.generations + 1):
        cells = [
            " / ".join(
                _cell(c[m][g]) or "-"
                for c in (calibration.real, calibration.synthetic, calibration.legacy)
            )
            for m in fitted
        ]
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Fitted on a grid over {', '.join(GRID)}, then refined by Nelder-Mead; see "
        "docs/synthetic.md (Calibration).",
        *(f"- {note}" for note in calibration.notes),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
