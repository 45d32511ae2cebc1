"""`driftlab plot`: re-draw a run's or a study's figure from its exported files (the
figures package, with matplotlib, is imported only when the command runs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from service.measure.choices import IMAGE_FORMATS, X_AXES


def names(text: str) -> list[str]:
    """A comma-separated list of names (metrics, conditions)."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    if not chosen:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return chosen


def image_formats(text: str) -> list[str]:
    chosen = names(text)
    unknown = [f for f in chosen if f not in IMAGE_FORMATS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"formats must come from {', '.join(IMAGE_FORMATS)}; got {text!r}"
        )
    return chosen


def add_plot_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """The `plot` subcommand on `commands` (an argparse subparsers object)."""
    plot = commands.add_parser(
        "plot",
        parents=[common],
        help="re-draw a run's or a study's figure from its exported files (docs/figures.md)",
    )
    plot.add_argument("target", type=Path, help="a run's export directory or a study's")
    plot.add_argument(
        "--metric", type=names, help="comma-separated metrics, one panel each (default: measured)"
    )
    plot.add_argument(
        "--x",
        choices=X_AXES,
        help="x axis: round or generation (default: generation for a run, round for a study)",
    )
    plot.add_argument("--conditions", type=names, help="a study's conditions to draw (all)")
    plot.add_argument("--out", type=Path, help="directory for the figures (default: TARGET)")
    plot.add_argument(
        "--format",
        type=image_formats,
        default=list(IMAGE_FORMATS),
        help="comma-separated from png, svg (default: both)",
    )
    plot.set_defaults(handler="plot:plot")


async def plot(args: argparse.Namespace) -> int:
    from service.figures import redraw

    written = redraw(
        args.target,
        x=args.x,
        metrics=args.metric,
        conditions=args.conditions,
        out_dir=args.out,
        formats=args.format,
    )
    out = Console(highlight=False)
    for path in written:
        out.print(str(path), markup=False, soft_wrap=True)
    return 0
