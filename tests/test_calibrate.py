"""`driftlab calibrate`: the fit recovers a channel's known parameters, and the command runs end
to end against an OpenAI-compatible server on loopback."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from agents.channel import Channel
from agents.openai_stub import ANSWER_WORDS
from agents.personas import EDITOR, TABLOID
from service.calibrate.curves import mean_curves, read_chains
from service.calibrate.fit import FitSettings, fit
from service.calibrate.simulate import simulate
from service.calibrate.sources import DEFAULT_SOURCES
from service.cli import main
from service.measure.metrics import words
from tests.conftest import cli_process, cli_result

GRID = (
    ("drop_scale", (0.25, 1.0, 2.5)),
    ("settled_change", (0.0, 0.3, 1.0)),
    ("target_scale", (0.5, 1.0, 1.5)),
)


def test_fit_recovers_known_parameters():
    """'Real' chains simulated under a known channel (other seeds, more chains) are fitted
    back to that channel's grid point: a plateau (settled_change 0) and a steady decay
    (settled_change 1) are told apart, and the grid's worst point is far off."""
    sources = {name: DEFAULT_SOURCES[name] for name in ("lighthouse", "market")}
    personas = [EDITOR, TABLOID]
    settings = FitSettings(generations=6, replicates=3, seed=0, grid=GRID, refine_evaluations=0)
    for settled in (0.0, 1.0):
        truth = {"drop_scale": 1.0, "settled_change": settled, "target_scale": 1.0}
        real, _ = simulate(Channel(**truth), sources, personas, 6, replicates=6, seed=99)
        best, *rest = fit(real, sources, personas, Channel(), settings)
        assert {name: getattr(best.channel, name) for name, _ in GRID} == truth
        assert best.error < 0.1
        assert rest[-1].error > 5 * best.error


def test_fit_curves_start_at_the_source():
    """Every simulated curve starts at full retention, the source's length and distance 0."""
    chains, texts = simulate(Channel(), {"market": DEFAULT_SOURCES["market"]}, [EDITOR], 3, 2)
    curves = mean_curves(chains, 3)
    assert [curves[m][0] for m in ("fact_retention", "length_ratio", "cosine")] == [1, 1, 0]
    assert len(texts) == 2 and all(len(told) == 3 for told in texts.values())


def test_bad_arguments_exit_2_with_one_message(capsys):
    """An unknown persona or too few generations is a usage error, before any run starts."""
    assert main(["calibrate", "--personas", "editor,nobody"]) == 2
    assert "--personas must name built-in personas" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", "--generations", "1"])
    assert exit_.value.code == 2
    assert "must be at least 2" in capsys.readouterr().err


async def test_calibrate_against_an_openai_compatible_server(openai_endpoint, redis, tmp_path):
    """Chains on the stub (which answers with the first 40 words of its input) for the
    texts of a --sources file are run,
    measured, fitted and reported: the real length curve is the stub's, and the fitted
    channel is a valid `channel:` block."""
    server = await openai_endpoint()
    sources = {name: DEFAULT_SOURCES[name].model_dump() for name in ("market", "vaccine")}
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(sources))
    process = await cli_process(
        "calibrate",
        "--backend", "openai",
        "--base-url", str(server.make_url("/v1")),
        "--model", "stub-model",
        "--embedder", "none",
        "--sources", "sources.yaml",
        "--generations", "3",
        "--personas", "editor,tabloid",
        "--replicates", "1",
        "--refine", "2",
        "--out", "cal",
        cwd=tmp_path,
    )  # fmt: skip
    code, out, err = await cli_result(process, 240)
    assert code == 0, err
    assert '"fitted"' in out and "wrote cal/report.md" in out
    out_dir = tmp_path / "cal"
    chains = read_chains(out_dir / "chains.csv")
    assert {(c.source, c.persona) for c in chains} == {
        (s, p) for s in sources for p in ("editor", "tabloid")
    }
    for chain in chains:
        source_words = len(words(DEFAULT_SOURCES[chain.source].text))
        # "stub-model retells: " and the first 40 words of the text it was given
        expected = (ANSWER_WORDS + 2) / source_words
        assert abs(chain.values["length_ratio"][1] - expected) < 0.05
        assert 0 < chain.values["fact_retention"][1] < 1
    with (out_dir / "curves.csv").open() as table:
        rows = list(csv.DictReader(table))
    assert {r["metric"] for r in rows} == {"fact_retention", "length_ratio", "cosine"}
    assert len(rows) == 3 * 4
    fitted = yaml.safe_load((out_dir / "channel.yaml").read_text())["channel"]
    Channel.model_validate(fitted)
    report = (out_dir / "report.md").read_text()
    assert "stub-model" in report and "embedding distance not measured" in report
    assert (out_dir / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert Path(out_dir / "runs" / "market").is_dir()
