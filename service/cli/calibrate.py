"""`driftlab calibrate`: its arguments; the job itself is service.calibrate.command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agents.personas import BUILTIN_PERSONAS
from service.cli.parser import non_negative_int, positive_int, whole_number_at_least


def add_calibrate_command(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register `calibrate` on the CLI's subcommands."""
    parser = commands.add_parser(
        "calibrate",
        parents=[common],
        help="fit the synthetic channel to chains of a chat model (docs/synthetic.md)",
    )
    parser.add_argument(
        "--backend", choices=("local", "openai", "synthetic"), default="local", help="(local)"
    )
    parser.add_argument("--model", help="the chat model (default: the backend's)")
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (--backend openai)")
    parser.add_argument(
        "--embedder", choices=("local", "openai", "none"), default="local", help="(local)"
    )
    parser.add_argument(
        "--sources", type=Path, help="YAML: a mapping of names to source blocks (text, facts)"
    )
    parser.add_argument(
        "--personas",
        default=",".join(BUILTIN_PERSONAS),
        help="comma-separated built-in personas (default: all)",
    )
    parser.add_argument("--generations", type=whole_number_at_least(2), default=10, help="(10)")
    parser.add_argument(
        "--replicates", type=positive_int, default=3, help="simulated chains per real chain (3)"
    )
    parser.add_argument(
        "--refine", type=non_negative_int, default=30, help="Nelder-Mead steps (30)"
    )
    parser.add_argument("--max-tokens", type=positive_int, default=320, help="(320)")
    parser.add_argument("--threads", type=positive_int, help="--backend local: CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("calibration"), help="(calibration)")
    parser.add_argument(
        "--observed",
        type=Path,
        help="refit to the chains.csv of an earlier calibration instead of running the model",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    parser.set_defaults(handler="calibrate:calibrate")


async def calibrate(args: argparse.Namespace) -> int:
    from service.calibrate.command import calibrate as run_calibration

    return await run_calibration(args)
