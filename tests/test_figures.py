"""The plotting module: panels only for measured metrics, bands inside valid ranges, gaps
where data is missing, legends of what is drawn, files at 300 dpi, re-drawn from exports;
each checked by reading the plotted data back from the figure."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.errors import BadInput
from service.figures import drift_figure, redraw, save, study_figure
from service.figures.curves import BAND_PREFIX

STUDY_COLUMNS = ("condition", "by", "step", "metric", "n", "mean", "sd", "ci_low", "ci_high")


def study_rows(missing: dict[str, set[int]] | None = None) -> list[dict]:
    """Three conditions over 6 rounds; intervals that reach beyond [0, 1] for the share."""
    rows = []
    for i, condition in enumerate(("chain", "tree", "mixing")):
        for step in range(6):
            if step in (missing or {}).get(condition, set()):
                continue
            share = max(0.0, 1 - 0.15 * step * (i + 1))
            rows += [
                dict(condition=condition, by="round", step=step, metric="fact_retention", n=5,
                     mean=share, sd=0.2, ci_low=share - 0.4, ci_high=share + 0.4),
                dict(condition=condition, by="round", step=step, metric="length_words", n=5,
                     mean=100 - 10 * step, sd=5, ci_low=90 - 10 * step, ci_high=110 - 10 * step),
            ]  # fmt: skip
    return rows


def panels(figure) -> dict[str, object]:
    return {axis.get_gid(): axis for axis in figure.axes if axis.get_gid()}


def bands(axis) -> dict[str, np.ndarray]:
    """Vertices of every band (or lone interval bar) on `axis`, by series label."""
    found = {}
    for collection in axis.collections:
        gid = collection.get_gid() or ""
        if gid.startswith(BAND_PREFIX):
            found[gid.removeprefix(BAND_PREFIX)] = np.concatenate(
                [path.vertices for path in collection.get_paths()]
            )
    return found


def test_study_panels_are_the_measured_metrics_only():
    """Two measured metrics make two panels; euclidean (not measured) gets none."""
    figure = study_figure(study_rows(), title="t")
    assert sorted(panels(figure)) == ["fact_retention", "length_words"]
    assert len(figure.axes) == 2


def test_bands_of_shares_stay_inside_zero_one():
    """Intervals beyond [0, 1] are clipped when drawn: every band vertex of a share is inside."""
    figure = study_figure(study_rows(), title="t")
    share = panels(figure)["fact_retention"]
    drawn = bands(share)
    assert set(drawn) == {"chain", "tree", "mixing"}
    for vertices in drawn.values():
        ys = vertices[:, 1]
        assert ys.min() >= 0.0 and ys.max() <= 1.0
    for line in share.lines:
        ys = line.get_ydata()
        assert np.nanmin(ys) >= 0 and np.nanmax(ys) <= 1


def test_missing_rounds_break_the_line_and_the_band():
    """A condition without rounds 2-3 has a NaN between 1 and 4, and two band pieces."""
    figure = study_figure(study_rows({"tree": {2, 3}}), title="t", metrics=["length_words"])
    axis = panels(figure)["length_words"]
    tree = next(line for line in axis.lines if line.get_label() == "tree")
    xs = list(tree.get_xdata())
    gap = next(i for i, x in enumerate(xs) if isinstance(x, float) and math.isnan(x))
    assert xs[gap - 1] == 1 and xs[gap + 1] == 4
    tree_band = [c for c in axis.collections if c.get_gid() == f"{BAND_PREFIX}tree"]
    assert len(tree_band) == 2
    assert not any(2 <= x <= 3 for band in tree_band for x in band.get_paths()[0].vertices[:, 0])


def test_legend_lists_only_the_conditions_drawn():
    """--conditions draws two of three conditions; the legend names exactly those two."""
    figure = study_figure(study_rows(), title="t", conditions=["mixing", "chain"])
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["chain", "mixing"]
    labels = {line.get_label() for axis in figure.axes for line in axis.lines}
    assert labels == {"chain", "mixing"}


def test_caption_names_n_and_the_interval():
    figure = study_figure(study_rows(), title="t")
    caption = " ".join(next(t.get_text() for t in figure.texts if t.get_gid() == "caption").split())
    assert "n = 5 runs" in caption and "95% t interval over runs" in caption


def test_few_runs_get_no_band():
    """Points over fewer than 3 runs are drawn without a band."""
    rows = [dict(r, n=2) for r in study_rows()]
    figure = study_figure(rows, title="t")
    assert all(not bands(axis) for axis in figure.axes)


def test_unknown_metric_or_condition_is_a_clear_error():
    with pytest.raises(BadInput, match="measured: fact_retention, length_words"):
        study_figure(study_rows(), title="t", metrics=["euclidean"])
    with pytest.raises(BadInput, match="its conditions: chain, tree, mixing"):
        study_figure(study_rows(), title="t", conditions=["star"])


def test_run_figure_has_no_empty_panel_and_no_interval():
    """Without embeddings there is no distance panel; one run draws means, never a band."""
    rows = [
        {"generation": g, "n": 4, "fact_retention": 1 - g / 10, "length_words": 90.0 - g,
         "unique_words": 60.0, "euclidean": None}
        for g in range(5)
    ]  # fmt: skip
    figure = drift_figure(rows, title="run")
    assert sorted(panels(figure)) == ["fact_retention", "length_words", "unique_words"]
    assert all(not bands(axis) for axis in figure.axes)
    assert not figure.legends
    caption = " ".join(next(t.get_text() for t in figure.texts if t.get_gid() == "caption").split())
    assert "n = 4 messages" in caption and "no interval" in caption


def test_a_long_title_fits_a_one_panel_figure():
    """A run id over a single panel: the title's drawn extent stays inside the figure."""
    rows = [{"round": r, "n": 1, "fact_retention": 1 - r / 10} for r in range(5)]
    title = "run telephone-chain-20261203-131156-b7285a (synthetic)"
    figure = drift_figure(rows, title=title, x="round")
    assert len(panels(figure)) == 1
    renderer = figure.canvas.get_renderer()
    box = figure._suptitle.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width


def test_files_are_png_at_300_dpi_and_svg(tmp_path: Path):
    written = save(study_figure(study_rows(), title="t"), tmp_path / "study.png")
    assert [p.name for p in written] == ["study.png", "study.svg"]
    with Image.open(tmp_path / "study.png") as image:
        assert round(image.info["dpi"][0]) == 300
    assert "<svg" in (tmp_path / "study.svg").read_text()


def write_study_csv(folder: Path, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "study.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=STUDY_COLUMNS)
        writer.writeheader()
        writer.writerows({c: r.get(c) for c in STUDY_COLUMNS} for r in rows)
    (folder / "manifest.json").write_text(json.dumps({"name": "demo"}))


def test_redraw_reads_a_study_export(tmp_path: Path):
    """`redraw` on a study directory writes study.png/svg with the chosen panel."""
    write_study_csv(tmp_path / "s", study_rows())
    written = redraw(tmp_path / "s", metrics=["length_words"], out_dir=tmp_path / "figs")
    assert sorted(p.name for p in written) == ["study.png", "study.svg"]
    with pytest.raises(BadInput, match="neither a study"):
        redraw(tmp_path)


def test_redraw_of_a_missing_path_names_it(tmp_path: Path):
    missing = tmp_path / "no-such-run"
    with pytest.raises(BadInput, match=r"no exported run or study at .*no-such-run"):
        redraw(missing)
