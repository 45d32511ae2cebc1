"""CLI start-up: CPU time of `driftlab --help` and `driftlab --version` in a fresh process,
against `python -c pass` measured in the same run (the interpreter's own start).

    python -m bench.cli_startup [--repeats 10] [--compare CHECKOUT]

`--compare` adds `driftlab --help` run from another checkout (an older version, say).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "driftlab --version": ["-m", "service.cli", "--version"],
    "driftlab --help": ["-m", "service.cli", "--help"],
}
LIMIT_S = 0.5


def cpu_seconds(args: list[str], root: Path = ROOT) -> float:
    """User + system CPU of one child process running `python ARGS` on checkout `root`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, *args], check=True, capture_output=True, env=env, cwd=root)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--compare", type=Path, help="another checkout to time --help of")
    options = parser.parse_args()
    repeats = options.repeats
    runs = [(name, args, ROOT) for name, args in COMMANDS.items()]
    if options.compare is not None:
        runs.append(
            ("driftlab --help (compared checkout)", COMMANDS["driftlab --help"], options.compare)
        )
    medians = {}
    for name, args, root in runs:
        cpu_seconds(args, root)  # warm the file cache
        medians[name] = statistics.median(cpu_seconds(args, root) for _ in range(repeats))
    baseline = medians["python -c pass"]
    print(f"| command | CPU (median of {repeats}) | ratio to `python -c pass` |")
    print("|---|---|---|")
    for name, seconds in medians.items():
        print(f"| `{name}` | {seconds * 1000:.0f} ms | {seconds / baseline:.1f} |")
    slow = [n for n, s in list(medians.items())[1:3] if s >= LIMIT_S]
    if slow:
        raise SystemExit(f"over {LIMIT_S} s of CPU: {', '.join(slow)}")


if __name__ == "__main__":
    main()
