"""The driftlab command line, run as a user would run it, against the real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import spec_dict, test_redis_url

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def driftlab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DRIFTLAB_REDIS_URL": test_redis_url(),
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "120",
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def write_spec(path: Path, **overrides) -> Path:
    path.write_text(yaml.safe_dump(spec_dict(**overrides)))
    return path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
async def test_each_example_runs_on_the_synthetic_backend(example, tmp_path, redis):
    """Every example runs with --backend synthetic and writes its files."""
    result = driftlab(
        "run",
        str(example),
        "--backend",
        "synthetic",
        "--embedder",
        "none",
        "--rounds",
        "12",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    for name in ("messages.jsonl", "drift.csv", "manifest.json", "drift.png", "report.md"):
        assert (out / name).stat().st_size > 0, name
    assert "gen" in result.stdout and "succeeded" in result.stdout


async def test_run_outputs_have_the_documented_layout(tmp_path, redis):
    """messages.jsonl has the promised top-level fields; manifest records spec and versions."""
    spec = write_spec(tmp_path / "s.yaml", rounds=3)
    result = driftlab("run", str(spec), "--out", "o", "--format", "jsonl,csv,parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "o" / "messages.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    required = {
        "id",
        "run",
        "replicate",
        "round",
        "node",
        "agent",
        "persona",
        "backend",
        "model",
        "origin",
        "generation",
        "min_generation",
        "parents",
        "roots",
        "human_input_share",
        "observed",
        "text",
        "usage",
        "latency_ms",
        "created_at",
    }
    assert all(required <= set(r) for r in records)
    assert [r["generation"] for r in records] == [0, 1, 2, 3]
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["spec"]["rounds"] == 3
    assert manifest["versions"]["numpy"] and manifest["status"] == "succeeded"
    header = (tmp_path / "o" / "messages.csv").read_text().splitlines()[0].split(",")
    assert "usage.total_tokens" in header and "drift.length_words" in header
    drift_header = (tmp_path / "o" / "drift.csv").read_text().splitlines()[0]
    assert drift_header.startswith("generation,n,length_words")


async def test_bad_spec_exits_2_with_every_problem_and_writes_nothing(tmp_path, redis):
    """A bad spec: one line per problem on stderr, exit code 2, no traceback, no keys."""
    spec = write_spec(
        tmp_path / "bad.yaml",
        personas=["nobody"],
        topology={"kind": "line", "n_agents": -1},
        rounds=0,
    )
    result = driftlab("run", str(spec), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "3 problems" in result.stderr
    for field in ("personas", "topology.n_agents", "rounds"):
        assert f"- {field}:" in result.stderr
    assert await redis.dbsize() == 0
    assert not (tmp_path / "runs").exists()


async def test_unreadable_spec_files(tmp_path, redis):
    """A missing file or a YAML that is not a mapping exits 2 with a message."""
    assert driftlab("run", "missing.yaml", cwd=tmp_path).returncode == 2
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    result = driftlab("run", "list.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "mapping" in result.stderr


async def test_dry_run_calls_nothing(tmp_path, redis):
    """--dry-run prints graph size, LLM calls and tokens, and stores nothing."""
    spec = write_spec(tmp_path / "s.yaml", topology={"kind": "line", "n_agents": 5}, rounds=3)
    result = driftlab("run", str(spec), "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "LLM calls (at most)" in result.stdout
    assert "│ 3 " in result.stdout.split("LLM calls")[1].splitlines()[0] + " "
    assert await redis.dbsize() == 0


async def test_runs_lineage_export_delete(tmp_path, redis):
    """The stored-run commands work on a finished run and refuse unknown ids with exit 2."""
    spec = write_spec(tmp_path / "s.yaml", rounds=2)
    assert driftlab("run", str(spec), "--run-id", "cli-run", cwd=tmp_path).returncode == 0
    listed = driftlab("runs", cwd=tmp_path)
    assert "cli-run" in listed.stdout and "succeeded" in listed.stdout
    as_json = driftlab("runs", "--json", cwd=tmp_path)
    [line] = [json.loads(text) for text in as_json.stdout.splitlines()]
    assert set(line) == {"id", "status", "created", "counts", "faults"}
    assert (line["id"], line["status"], line["counts"]["messages"]) == ("cli-run", "succeeded", 3)
    shown = driftlab("show", "cli-r", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "cli-run" in shown.stdout and "2 of 2 rounds" in shown.stdout
    assert "drift from the original" in shown.stdout
    record = json.loads(driftlab("show", "latest", "--json", cwd=tmp_path).stdout)
    assert (record["id"], record["counts"]["messages"], record["spec"]["rounds"]) == (
        "cli-run",
        3,
        2,
    )
    lineage = driftlab("lineage", "cli-run", "cli-run:0:1:a1", cwd=tmp_path)
    assert lineage.returncode == 0, lineage.stderr
    lines = lineage.stdout.splitlines()
    assert lines[0].startswith("0:1:a1  ") and lines[-2].strip().startswith("0:0:h0  human")
    assert lines[-1].startswith("2 ancestors in all")
    exported = driftlab("export", "cli-run", "--out", "exp", cwd=tmp_path)
    assert exported.returncode == 0
    assert len((tmp_path / "exp" / "messages.jsonl").read_text().splitlines()) == 3
    assert driftlab("lineage", "cli-run", "nope", cwd=tmp_path).returncode == 2
    assert driftlab("delete", "cli-run", cwd=tmp_path).returncode == 0
    gone = driftlab("export", "cli-run", cwd=tmp_path)
    assert gone.returncode == 2 and "no run 'cli-run'" in gone.stderr
    unknown = driftlab("show", "cli-run", cwd=tmp_path)
    assert unknown.returncode == 2 and "no run 'cli-run'" in unknown.stderr


async def test_overrides_from_the_command_line(tmp_path, redis):
    """--rounds and --seed override the spec."""
    spec = write_spec(tmp_path / "s.yaml", rounds=1)
    result = driftlab("run", str(spec), "--rounds", "2", "--seed", "42", "--out", "o", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert (manifest["spec"]["rounds"], manifest["seed"]) == (2, 42)
    assert driftlab("run", str(spec), "--rounds", "0", cwd=tmp_path).returncode == 2


async def test_an_existing_run_id_is_not_overwritten(tmp_path, redis):
    """Reusing a stored run id is refused with exit 2 instead of mixing two runs."""
    spec = write_spec(tmp_path / "s.yaml", rounds=1)
    assert driftlab("run", str(spec), "--run-id", "same", cwd=tmp_path).returncode == 0
    again = driftlab("run", str(spec), "--run-id", "same", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


async def test_workers_flag_gives_the_same_messages(tmp_path, redis):
    """`--workers 2` runs the steps in two processes and writes the same messages."""
    spec = write_spec(
        tmp_path / "net.yaml",
        topology={"kind": "mixing", "graph": "small_world", "n_agents": 60, "human_sources": 2},
    )
    texts = {}
    for workers in ("1", "2"):
        result = driftlab(
            "run",
            str(spec),
            "--workers",
            workers,
            "--run-id",
            f"cli-w{workers}",
            "--out",
            workers,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        lines = (tmp_path / workers / "messages.jsonl").read_text().splitlines()
        texts[workers] = [(m["node"], m["round"], m["text"]) for m in map(json.loads, lines)]
    assert texts["1"] == texts["2"] and len(texts["1"]) > 20


def test_workers_flag_refuses_zero(tmp_path):
    result = driftlab("run", str(write_spec(tmp_path / "s.yaml")), "--workers", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "--workers" in result.stderr and "Traceback" not in result.stderr
