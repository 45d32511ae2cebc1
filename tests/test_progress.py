"""Progress of long commands: lines with the time left when not on a terminal, thinned
out after the first steps; nothing with --quiet; and `driftlab --version`."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import yaml
from rich.console import Console

from service.terminal.progress import (
    FIRST_LINES,
    LINE_INTERVAL_S,
    StudyProgress,
    Ticker,
    eta_text,
)
from tests.conftest import cli_process, cli_result, spec_dict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plain_console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, force_terminal=False, width=200), text


def test_plain_lines_first_steps_then_periodic_then_last():
    """Each of the first steps is a line with its ETA, then one per interval, and the last."""
    console, text = plain_console()
    clock = Clock()
    with Ticker("round", 100, console, clock=clock) as ticker:
        for step in range(100):
            clock.now += 1.0  # one second per step
            ticker.advance(1, "", f"step {step + 1}")
    lines = text.getvalue().splitlines()
    assert lines[0] == "step 1, ETA 2 min"  # 99 s left at one second a step
    assert "step 50, ETA 50 s" in lines
    assert lines[FIRST_LINES - 1].startswith(f"step {FIRST_LINES},")
    later = lines[FIRST_LINES:-1]
    assert 0 < len(later) <= 100 // LINE_INTERVAL_S
    assert lines[-1] == "step 100"


def test_study_lines_give_the_time_left_at_the_pace_of_runs():
    """Off a terminal, a study prints one line per finished run; the ETA extrapolates the
    runs finished so far, and the last line has none."""
    console, text = plain_console()
    runs = [
        SimpleNamespace(run_id=f"s-c0-r{i}", condition=SimpleNamespace(name="c0"), replicate=i)
        for i in range(4)
    ]
    prepared = [SimpleNamespace(planned=r, experiment=_rounds(3)) for r in runs]
    progress = StudyProgress(prepared, console, lambda text: None)  # type: ignore[arg-type]
    clock = Clock()
    progress.ticker.clock, progress.ticker.started = clock, clock.now
    with progress as hooks:
        for planned in runs:
            clock.now += 10.0
            hooks.finished(planned, "succeeded")  # type: ignore[arg-type]
    lines = text.getvalue().splitlines()
    assert lines[0] == "1/4 runs: s-c0-r0 [c0] replicate 0: succeeded, ETA 30 s"
    assert lines[2].endswith("ETA 10 s") and lines[3].endswith("succeeded")


def _rounds(rounds: int) -> SimpleNamespace:
    return SimpleNamespace(spec=SimpleNamespace(rounds=rounds))


def test_quiet_prints_nothing():
    console, text = plain_console()
    with Ticker("round", 3, console, quiet=True) as ticker:
        for _ in range(3):
            ticker.advance(1, "", "step")
    assert text.getvalue() == ""


def test_eta_text_units():
    assert eta_text(None) == "ETA ?"
    assert eta_text(42) == "ETA 42 s"
    assert eta_text(600) == "ETA 10 min"
    assert eta_text(7200) == "ETA 2.0 h"


async def test_run_reports_rounds_with_eta_off_a_terminal_and_quiet_silences(redis, tmp_path: Path):
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(spec_dict(rounds=3)))
    code, _, err = await cli_result(await cli_process("run", str(spec), cwd=tmp_path), 120)
    assert code == 0, err
    assert "round 1/3:" in err and "ETA" in err and "round 3/3:" in err
    code, _, err = await cli_result(
        await cli_process("run", str(spec), "--quiet", "--out", "q", cwd=tmp_path), 120
    )
    assert code == 0, err
    assert "round 1/3" not in err and "ETA" not in err


async def test_version(tmp_path: Path):
    code, out, err = await cli_result(await cli_process("--version", cwd=tmp_path), 60)
    assert code == 0, err
    assert out.startswith("driftlab ") and "Python" in out


async def test_export_and_analyze_report_messages_off_a_terminal_and_quiet_silences(
    redis, tmp_path: Path
):
    """Off a terminal, `export` counts the messages it writes and `analyze` its steps
    (re-scoring each message), with the time left; --quiet prints neither."""
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(spec_dict(rounds=3)))
    code, _, err = await cli_result(
        await cli_process("run", str(spec), "--quiet", cwd=tmp_path), 120
    )
    assert code == 0, err
    messages = await redis.hlen(next(k for k in await redis.keys("*:messages")))
    code, _, err = await cli_result(await cli_process("export", "latest", cwd=tmp_path), 120)
    assert code == 0, err
    assert "export: 1/" in err and "ETA" in err and f"export: {messages}/{messages} messages" in err
    code, _, err = await cli_result(
        await cli_process("analyze", "latest", "--out", "a", cwd=tmp_path), 120
    )
    assert code == 0, err
    assert "analyze: 1/" in err and f"analyze: {messages}/{messages} steps" in err
    for command in (("export", "latest", "--out", "eq"), ("analyze", "latest", "--out", "aq")):
        code, _, err = await cli_result(await cli_process(*command, "--quiet", cwd=tmp_path), 120)
        assert code == 0, err
        assert f"{command[0]}:" not in err and "ETA" not in err


async def test_calibrate_reports_chains_and_fit_off_a_terminal_and_quiet_silences(
    redis, tmp_path: Path
):
    """`calibrate` on the synthetic backend counts the chains' generations, then the fit's
    evaluations; --quiet prints neither."""
    small = ("calibrate", "--backend", "synthetic", "--embedder", "none", "--generations", "2",
             "--personas", "editor", "--replicates", "1", "--refine", "2")  # fmt: skip
    code, _, err = await cli_result(await cli_process(*small, "--out", "c", cwd=tmp_path), 120)
    assert code == 0, err
    assert "chains: 1/" in err and "generations, ETA" in err
    assert "fit: 1/" in err and "evaluations, ETA" in err
    code, _, err = await cli_result(
        await cli_process(*small, "--out", "q", "--quiet", cwd=tmp_path), 120
    )
    assert code == 0, err
    assert "chains:" not in err and "fit:" not in err and "ETA" not in err
