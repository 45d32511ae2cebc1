"""Per-generation curves of one chain, and their mean over chains: what calibration compares."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CURVE_METRICS = ("fact_retention", "length_ratio", "cosine")
"""Fact retention, length in words over the source's, cosine distance to the source."""


@dataclass(frozen=True)
class Chain:
    """One chain's metrics by generation (index 0: the source itself); NaN where unmeasured."""

    source: str
    persona: str
    values: dict[str, np.ndarray]


def mean_curves(chains: Iterable[Chain], generations: int) -> dict[str, np.ndarray]:
    """Each metric's mean over chains at generations 0..`generations` (NaN where no chain
    measured it)."""
    stacked: dict[str, list[np.ndarray]] = {m: [] for m in CURVE_METRICS}
    for chain in chains:
        for metric in CURVE_METRICS:
            stacked[metric].append(_padded(chain.values[metric], generations + 1))
    means = {}
    for metric, rows in stacked.items():
        table = np.vstack(rows) if rows else np.full((1, generations + 1), np.nan)
        measured = ~np.isnan(table)
        totals = np.where(measured, table, 0.0).sum(axis=0)
        counts = measured.sum(axis=0)
        means[metric] = np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
    return means


def _padded(values: Sequence[float] | np.ndarray, length: int) -> np.ndarray:
    """The first `length` values; a chain that ended early is NaN after its end."""
    out = np.full(length, np.nan)
    values = np.asarray(values, dtype=np.float64)[:length]
    out[: len(values)] = values
    return out


def measured(curves: dict[str, np.ndarray]) -> list[str]:
    """The metrics measured at some generation after the source."""
    return [m for m in CURVE_METRICS if not np.all(np.isnan(curves[m][1:]))]


def write_chains(chains: Iterable[Chain], path: Path) -> Path:
    """One row per chain, generation and metric (what `--observed` reads back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["source", "persona", "generation", *CURVE_METRICS])
        for chain in chains:
            for g in range(len(chain.values[CURVE_METRICS[0]])):
                cells = [chain.values[m][g] for m in CURVE_METRICS]
                writer.writerow(
                    [chain.source, chain.persona, g, *("" if np.isnan(v) else v for v in cells)]
                )
    return path


def read_chains(path: Path) -> list[Chain]:
    """The chains `write_chains` wrote."""
    rows: dict[tuple[str, str], dict[int, dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            rows.setdefault((row["source"], row["persona"]), {})[int(row["generation"])] = row
    chains = []
    for (name, persona), by_generation in rows.items():
        ordered = [by_generation[g] for g in sorted(by_generation)]
        values = {
            m: np.array([float(r[m]) if r[m] else np.nan for r in ordered]) for m in CURVE_METRICS
        }
        chains.append(Chain(name, persona, values))
    return chains
