"""The command line's grammar: commands, options and argument types; it imports nothing a
command needs to run."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from agents.kinds import BACKEND_KINDS, EMBEDDER_KINDS
from service.measure.choices import ANALYSES, FORMATS
from service.terminal.lineage_views import LINEAGE_FORMATS, parse_depth
from service.terminal.version import version_text


def build_parser() -> argparse.ArgumentParser:
    """Every command and its options; each command names its handler as MODULE:FUNCTION."""
    parser = argparse.ArgumentParser(
        prog="driftlab", description="Simulate text drift across networks of LLM agents."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    parser.add_argument("--version", action="version", version=version_text())
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", parents=[common], help="run an experiment spec (YAML or JSON)")
    run.add_argument("spec", type=Path)
    run.add_argument("--backend", choices=BACKEND_KINDS)
    run.add_argument("--model")
    run.add_argument("--embedder", choices=EMBEDDER_KINDS)
    run.add_argument("--rounds", type=positive_int)
    run.add_argument("--seed", type=int)
    run.add_argument(
        "--graph-seed", type=int, help="seed of the graph and persona draw (default: --seed)"
    )
    run.add_argument(
        "--replicate",
        type=non_negative_int,
        default=0,
        help="replicate index: other dynamics on the same graph (default 0)",
    )
    run.add_argument("--concurrency", type=positive_int)
    run.add_argument(
        "--workers", type=positive_int, help="processes running agent steps (default 1)"
    )
    run.add_argument(
        "--distributed",
        action="store_true",
        help="queue agent steps in Redis for `driftlab worker` processes",
    )
    run.add_argument("--run-id")
    run.add_argument("--out", type=Path, help="output directory (default runs/RUN_ID)")
    run.add_argument(
        "--format",
        default="jsonl",
        type=comma_list("formats", FORMATS),
        help=f"message export formats, comma-separated from {', '.join(FORMATS)}",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print graph size, LLM calls and a token estimate; call nothing",
    )
    add_quiet(run)
    run.set_defaults(handler="runs:run")

    runs = commands.add_parser("runs", parents=[common], help="list stored runs")
    runs.add_argument(
        "--json", action="store_true", help="one JSON object per line: id, status, created, counts"
    )
    runs.add_argument("--wide", action="store_true", help="whole ids and times")
    runs.set_defaults(handler="runs:list_runs")

    show = commands.add_parser(
        "show", parents=[common], help="one stored run: status, counts and drift tables"
    )
    show.add_argument("run")
    show.add_argument("--json", action="store_true", help="the whole stored record as JSON")
    show.set_defaults(handler="runs:show")

    export = commands.add_parser("export", parents=[common], help="write a stored run's files")
    export.add_argument("run")
    export.add_argument("--out", type=Path)
    export.add_argument("--format", default="jsonl", type=comma_list("formats", FORMATS))
    export.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    export.set_defaults(handler="runs:export")

    delete = commands.add_parser("delete", parents=[common], help="delete a stored run")
    delete.add_argument("run")
    delete.add_argument(
        "--force", action="store_true", help="cancel the run first if a process is running it"
    )
    delete.set_defaults(handler="runs:delete")

    resume = commands.add_parser(
        "resume", parents=[common], help="continue an interrupted or cancelled run"
    )
    resume.add_argument("run")
    resume.add_argument(
        "--out", type=Path, help="output directory (default: the run's first --out)"
    )
    add_quiet(resume)
    resume.add_argument("--format", default="jsonl", type=comma_list("formats", FORMATS))
    resume.set_defaults(handler="runs:resume")

    worker = commands.add_parser(
        "worker", parents=[common], help="run agent steps of distributed runs from Redis"
    )
    worker.add_argument(
        "--concurrency", type=positive_int, default=64, help="steps in hand at once (64)"
    )
    worker.add_argument(
        "--redelivery",
        type=positive_float,
        default=30.0,
        help="seconds a step may sit idle with a dead worker before another takes it (30)",
    )
    worker.add_argument(
        "--max-deliveries",
        type=positive_int,
        default=5,
        help="deliveries of one step before it goes to the run's dead letters (5)",
    )
    worker.set_defaults(handler="services:worker")

    lineage = commands.add_parser(
        "lineage", parents=[common], help="print a message's ancestors back to humans"
    )
    lineage.add_argument("run")
    lineage.add_argument("message", help="a message id, with or without its run id")
    lineage.add_argument(
        "--depth",
        type=parse_depth,
        default=False,
        help="parent links shown, or all (tree: 3; others: all)",
    )
    lineage.add_argument("--format", choices=LINEAGE_FORMATS, default="tree")
    lineage.set_defaults(handler="runs:lineage")

    study = commands.add_parser(
        "study",
        parents=[common],
        help="run a study: a base spec, a grid of variations and replicates (docs/studies.md)",
    )
    study.add_argument("spec", type=Path)
    study.add_argument("--replicates", type=positive_int)
    study.add_argument("--backend", choices=BACKEND_KINDS, help="for every condition")
    study.add_argument("--parallel", type=positive_int, help="runs at once (default: the study's)")
    study.add_argument("--out", type=Path, help="output directory (default studies/NAME)")
    study.add_argument(
        "--aa",
        action="store_true",
        help="A/A check: the baseline against itself under two names with independent seeds",
    )
    add_quiet(study)
    study.set_defaults(handler="study:study")

    analyze = commands.add_parser(
        "analyze",
        parents=[common],
        help="re-score a stored run or an exported messages.jsonl offline (no chat model)",
    )
    analyze.add_argument("target", help="a run id, or a messages.jsonl file or its directory")
    analyze.add_argument(
        "--embedder",
        choices=EMBEDDER_KINDS,
        default="none",
        help="embed every message: distances to the original and parents, diversity per round",
    )
    analyze.add_argument("--embedder-model")
    analyze.add_argument(
        "--metrics",
        default="text",
        type=comma_list("metrics", ANALYSES),
        help=f"comma-separated from {', '.join(ANALYSES)} (default: text)",
    )
    analyze.add_argument("--out", type=Path, help="output directory (default: .../analysis)")
    analyze.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    analyze.set_defaults(handler="analyze:analyze")

    serve = commands.add_parser("serve", parents=[common], help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=positive_int, default=8080, help="port (8080)")
    serve.set_defaults(handler="services:serve")

    dashboard = commands.add_parser(
        "dashboard", parents=[common], help="open the web dashboard (serving it if none runs)"
    )
    dashboard.add_argument("--port", type=positive_int, default=8080, help="port (8080)")
    dashboard.add_argument("--no-browser", action="store_true", help="only print its address")
    dashboard.set_defaults(handler="services:dashboard")

    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check Redis, the bundled model and its llama.cpp build, the backends",
    )
    doctor.add_argument("--json", action="store_true", help="one JSON object per check")
    doctor.set_defaults(handler="services:doctor")
    from service.cli.calibrate import add_calibrate_command
    from service.cli.plot import add_plot_command

    add_calibrate_command(commands, common)
    add_plot_command(commands, common)
    return parser


def add_quiet(command: argparse.ArgumentParser) -> None:
    """The --quiet of a command that shows a run's progress."""
    command.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")


def whole_number_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = whole_number_at_least(1)
non_negative_int = whole_number_at_least(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def comma_list(what: str, allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """An argument type: a non-empty comma-separated list of names from `allowed`."""

    def parse(text: str) -> list[str]:
        chosen = [f.strip() for f in text.split(",") if f.strip()]
        unknown = [f for f in chosen if f not in allowed]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"{what} must come from {', '.join(allowed)}; got {text!r}"
            )
        return chosen

    return parse
