"""Progress of long commands: a rich bar with the time left on a terminal; elsewhere (logs,
CI) plain lines, every step at first, then at most one per LINE_INTERVAL_S, and the last;
nothing with --quiet."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from service.lifecycle import RoundReport
from service.study.runner import Prepared, StudyHooks
from service.study.spec import Planned

LINE_INTERVAL_S = 5.0
FIRST_LINES = 5  # steps always reported before the lines thin out


def eta_text(seconds: float | None) -> str:
    """A remaining time as 'ETA 42 s', 'ETA 3 min', 'ETA 1.5 h'."""
    if seconds is None:
        return "ETA ?"
    if seconds < 90:
        return f"ETA {seconds:.0f} s"
    if seconds < 5400:
        return f"ETA {seconds / 60:.0f} min"
    return f"ETA {seconds / 3600:.1f} h"


class Ticker:
    """Counts steps of a known total; shows a bar on a terminal, lines elsewhere."""

    def __init__(
        self,
        label: str,
        total: int,
        console: Console,
        *,
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = max(total, 1)
        self.console = console
        self.quiet = quiet
        self.clock = clock
        self.done = 0
        self.started = clock()
        self.last_line: float | None = None
        self.bar: Progress | None = None
        self.task: Any = None

    def __enter__(self) -> Ticker:
        if not self.quiet and self.console.is_terminal:
            self.bar = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self.task = self.bar.add_task(self.label, total=self.total, info="")
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def eta(self) -> float | None:
        """Seconds left at the mean pace so far (None before the first step)."""
        if self.done == 0:
            return None
        spent = self.clock() - self.started
        return spent / self.done * max(self.total - self.done, 0)

    def advance(self, steps: int, info: str, line: str) -> None:
        """Count `steps`; `info` goes beside the bar, `line` (plus the ETA) is printed when
        no bar is shown and a line is due."""
        self.done += steps
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(self.task, advance=steps, info=info)
            return
        now = self.clock()
        due = (
            self.done <= FIRST_LINES
            or self.done >= self.total
            or self.last_line is None
            or now - self.last_line >= LINE_INTERVAL_S
        )
        if due:
            self.last_line = now
            suffix = "" if self.done >= self.total else f", {eta_text(self.eta())}"
            self.console.print(f"{line}{suffix}", markup=False, highlight=False, soft_wrap=True)

    def counter(self, unit: str) -> Callable[[int], None]:
        """A callback counting steps of `unit` (what core code takes as `on_progress`)."""

        def count(steps: int) -> None:
            done = self.done + steps
            self.advance(steps, unit, f"{self.label}: {done}/{self.total} {unit}")

        return count


class RunProgress:
    """The `round` hook of one run."""

    def __init__(self, rounds: int, console: Console, *, quiet: bool = False) -> None:
        self.ticker = Ticker("round", rounds, console, quiet=quiet)

    def __enter__(self) -> Callable[[RoundReport], None]:
        self.ticker.__enter__()
        return self.round

    def __exit__(self, *exc: object) -> None:
        self.ticker.__exit__(*exc)

    def round(self, report: RoundReport) -> None:
        self.ticker.advance(
            1,
            f"{report.messages} messages",
            f"round {report.round + 1}/{report.rounds}: {report.messages} messages, "
            f"{report.skips} silent, {report.seconds:.2f} s",
        )


class StudyProgress:
    """The hooks of a study: one bar over every round of every run; when not on a terminal,
    one line per finished run with the time left at the pace of the runs finished so far."""

    def __init__(
        self,
        prepared: list[Prepared],
        console: Console,
        notice: Callable[[str], None],
        *,
        quiet: bool = False,
    ) -> None:
        self.rounds = {p.planned.run_id: p.experiment.spec.rounds for p in prepared}
        self.done: dict[str, int] = dict.fromkeys(self.rounds, 0)
        self.runs = len(prepared)
        self.finished = 0
        self.notice = notice
        self.quiet = quiet
        self.ticker = Ticker("study", sum(self.rounds.values()), console, quiet=quiet)

    def __enter__(self) -> StudyHooks:
        self.ticker.__enter__()
        return StudyHooks(round=self._round, finished=self._finished, notice=self._notice)

    def __exit__(self, *exc: object) -> None:
        self.ticker.__exit__(*exc)

    def _round(self, planned: Planned, report: RoundReport) -> None:
        self.done[planned.run_id] = self.done.get(planned.run_id, 0) + 1
        if self.ticker.bar is not None:
            self.ticker.advance(1, f"{self.finished}/{self.runs} runs", "")

    def _finished(self, planned: Planned, status: str) -> None:
        self.finished += 1
        self.runs = max(self.runs, self.finished)  # `replicates: auto` adds runs
        done = self.done.get(planned.run_id, 0)
        rounds = self.rounds.setdefault(planned.run_id, done)
        left = rounds - done
        self.done[planned.run_id] = rounds
        info = f"{self.finished}/{self.runs} runs"
        if self.ticker.bar is not None:
            self.ticker.advance(left, info, "")
            return
        if self.quiet:
            return
        line = (
            f"{info}: {planned.run_id} [{planned.condition.name}] replicate "
            f"{planned.replicate}: {status}"
        )
        if self.finished < self.runs:
            spent = self.ticker.clock() - self.ticker.started
            line += f", {eta_text(spent / self.finished * (self.runs - self.finished))}"
        self.ticker.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _notice(self, planned: Planned, text: str) -> None:
        if planned.replicate == 0 and not self.quiet:
            self.notice(f"{planned.condition.name}: {text}")
