"""Bad input, one case per kind a user can type: a readable error with its field, exit 2,
nothing built or written, never a traceback (issue 9)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import yaml

from service.cli import main
from service.errors import SpecError
from service.experiment.experiment import load
from service.experiment.settings import Settings
from service.experiment.spec_file import read_spec_file
from tests.conftest import spec_dict, test_redis_url


def problems(raw: dict, settings: Settings | None = None) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        load(raw, settings)
    return {p.field: p.message for p in caught.value.problems}


def file_problems(tmp_path: Path, text: str | bytes, **settings: int) -> dict[str, str]:
    path = tmp_path / "spec.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        read_spec_file(path, Settings(**settings))
    return {p.field: p.message for p in caught.value.problems}


def cli(capsys, *args: str) -> tuple[int, str]:
    """driftlab in this process: its exit code and everything it wrote to stderr."""
    code = main(list(args))
    return code, capsys.readouterr().err


def write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


# the spec model is strict --------------------------------------------------------------


def test_a_bool_is_not_a_number():
    """`rounds: true` is refused instead of read as 1."""
    assert "valid integer" in problems(spec_dict(rounds=True))["rounds"]


def test_a_string_is_not_a_number():
    """`n_agents: "3"` is refused instead of read as 3."""
    found = problems(spec_dict(topology={"kind": "line", "n_agents": "3"}))
    assert "valid integer" in found["topology.n_agents"]


def test_nan_and_infinity_are_refused():
    """A float field takes neither NaN nor infinity (a weight of inf would break the draw)."""
    found = problems(spec_dict(policy={"kind": "prefer_human", "weight": float("inf")}))
    assert "policy.weight" in found
    assert "injection.rate" in problems(spec_dict(injection={"rate": float("nan")}))


def test_duplicate_yaml_keys_are_refused(tmp_path):
    """Two `rounds:` keys (the last would silently win) are both named, with their lines."""
    text = "name: t\nrounds: 1\nsource:\n  text: a\n  text: b\nrounds: 2\n"
    found = file_problems(tmp_path, text)
    assert found == {
        "source.text": "duplicate key (line 4, again on line 5)",
        "rounds": "duplicate key (line 2, again on line 6)",
    }


def test_merge_keys_may_be_overridden(tmp_path):
    """A YAML merge (`<<: *base`) followed by a key it also sets is not a duplicate."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "base: &p {name: poet, system: verse}\n"
        "personas:\n  - <<: *p\n    name: bard\n"
        "topology: {kind: line, n_agents: 2}\n"
    )
    assert read_spec_file(path)["personas"] == [{"name": "bard", "system": "verse"}]


def test_duplicate_persona_names_are_refused():
    """Two personas of one name: which one an agent gets would be a guess."""
    found = problems(spec_dict(personas=["editor", {"name": "editor", "system": "other"}]))
    assert "'editor' given more than once" in found["personas"]


def test_self_loops_and_duplicate_edges_are_refused():
    """A self-loop and a repeated edge are both named by their position in `edges`."""
    topology = {
        "kind": "edges",
        "edges": [["h", "a"], ["a", "a"], ["a", "b"], ["a", "b"]],
        "human_sources": ["h"],
    }
    message = problems(spec_dict(topology=topology))["topology.edges"]
    assert "self-loops at 1 ('a' -> 'a')" in message
    assert "repeated edges at 3 ('a' -> 'b')" in message


def test_integer_node_ids_become_strings():
    """Integers in `edges`, `human_sources` and `persona_map` name the same nodes as strings."""
    topology = {"kind": "edges", "edges": [[0, 1], [1, 2]], "human_sources": [0]}
    experiment = load(spec_dict(topology=topology, persona_map={2: "teacher"}))
    assert experiment.sources == ["0"] and experiment.agents == ["1", "2"]
    assert experiment.spec.topology.edges == [["0", "1"], ["1", "2"]]
    assert experiment.persona_of["2"].name == "teacher"


def test_an_id_written_as_number_and_string_is_refused():
    """`0` and `"0"` would merge into one node: refused, both places named."""
    topology = {"kind": "edges", "edges": [["h", 0], ["0", "b"]], "human_sources": ["h"]}
    found = problems(spec_dict(topology=topology))
    assert "topology.edges.0.1" in found["topology.edges.1.0"]


def test_api_key_env_must_name_a_variable():
    """`api_key_env` is a variable's name, not the key itself nor anything os.environ refuses."""
    persona = {"name": "p", "system": "s", "api_key_env": "sk-proj-abc=def"}
    assert "personas.0.api_key_env" in problems(spec_dict(personas=[persona]))
    persona["api_key_env"] = "MY_KEY_2"
    assert load(spec_dict(personas=[persona])).persona_of["a0"].api_key_env == "MY_KEY_2"


def test_every_problem_is_reported_at_once():
    """Type, limit, duplicate and URL problems come back together, each with its field."""
    raw = spec_dict(
        rounds=True,
        max_inputs="3",
        personas=["editor", "editor"],
        base_url="http://u:p@example.com",
        topology={"kind": "line", "n_agents": 10**9},
    )
    assert set(problems(raw)) == {"rounds", "max_inputs", "personas", "base_url", "topology"}


# limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topology", "what"),
    [
        ({"kind": "line", "n_agents": 10**9}, "1,000,000,001 nodes"),
        ({"kind": "line", "n_agents": 3, "sources": 10**9}, "1,000,000,003 nodes"),
        ({"kind": "tree", "branching": 1000, "depth": 1000}, "more than 10^18 nodes"),
        ({"kind": "mixing", "graph": "complete", "n_agents": 5000}, "24,995,001 edges"),
        ({"kind": "mixing", "graph": "random", "n_agents": 10**6, "p": 0.5}, "edges"),
    ],
)
def test_topologies_over_the_limits_are_refused_before_building(topology, what):
    """Sizes are counted from the parameters: a huge topology is refused at once."""
    started = time.perf_counter()
    message = problems(spec_dict(topology=topology))["topology"]
    assert what in message and "DRIFTLAB_MAX_" in message
    assert time.perf_counter() - started < 1.0


def test_a_bad_size_is_named_rather_than_counted():
    """A tree with no branches is reported as such, however deep (the count does not hide it)."""
    found = problems(spec_dict(topology={"kind": "tree", "branching": 0, "depth": 10**9}))
    assert set(found) == {"topology.branching"}


def test_a_graph_file_over_the_limits_is_refused(tmp_path):
    """A graph read from a file is counted once read, before anything runs."""
    path = tmp_path / "g.json"
    nodes = [{"id": f"n{i}"} for i in range(30)]
    links = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(29)]
    path.write_text(json.dumps({"directed": True, "nodes": nodes, "links": links}))
    topology = {"kind": "edges", "path": str(path), "human_sources": ["n0"]}
    found = problems(spec_dict(topology=topology), Settings(max_nodes=20))
    assert "30 nodes" in found["topology"]


def test_rounds_limit_and_how_to_raise_it(monkeypatch):
    """`rounds: 1e9` is refused; DRIFTLAB_MAX_ROUNDS raises the limit."""
    assert "DRIFTLAB_MAX_ROUNDS" in problems(spec_dict(rounds=10**9))["rounds"]
    assert "rounds" in problems(spec_dict(rounds=20), Settings(max_rounds=10))
    monkeypatch.setenv("DRIFTLAB_MAX_ROUNDS", "20000")
    assert load(spec_dict(rounds=15000), Settings()).spec.rounds == 15000


def test_texts_over_the_limit_are_refused():
    """A source text, a corpus text or a system prompt over the per-text limit is refused."""
    big = "word " * 300_000
    raw = spec_dict(
        human_corpus=["fine", big],
        personas=[{"name": "p", "system": big}],
    )
    raw["source"] = {"text": big}
    found = problems(raw)
    assert "at most 1,000,000 bytes" in found["source.text"]
    assert "human_corpus text 1" in found["human_corpus"]
    assert "system prompt of 'p'" in found["personas"]


def test_spec_file_size_limit(tmp_path):
    """A spec file over the size limit is refused before it is parsed."""
    text = "name: t\n" + "# padding\n" * 200
    assert "larger than 1,000 bytes" in file_problems(tmp_path, text, max_spec_bytes=1000)[""]


def test_deep_nesting_is_refused_without_recursion_error(tmp_path):
    """5,000 nested brackets: the depth limit answers, not a RecursionError."""
    found = file_problems(tmp_path, "a: " + "[" * 5000 + "]" * 5000)
    [(field, message)] = found.items()
    assert field.startswith("a.0.0") and "more than 50 levels" in message


def test_alias_bombs_are_refused(tmp_path):
    """Aliases counted at full size: a billion-laughs file is refused while composing."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    started = time.perf_counter()
    found = file_problems(tmp_path, "\n".join(lines))
    assert "DRIFTLAB_MAX_SPEC_VALUES" in next(iter(found.values()))
    assert time.perf_counter() - started < 2.0
    recursive = file_problems(tmp_path, "a: &a [*a]\n")
    assert "contains it" in recursive["a.0"]


def test_non_utf8_and_out_of_range_values(tmp_path):
    """Bytes that are not UTF-8, and an integer of 5,000 digits, are spec errors."""
    assert "not UTF-8" in file_problems(tmp_path, b"name: caf\xe9\n")[""]
    assert "out of range" in file_problems(tmp_path, "seed: " + "9" * 5000)[""]


# the command line -------------------------------------------------------------------------


def test_cli_bad_spec_file_exits_2_without_traceback(tmp_path, capsys):
    """Non-UTF-8 and deeply nested spec files end in one message and exit 2."""
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000)
    for name in ("latin1.yaml", "deep.yaml"):
        code, stderr = cli(capsys, "run", str(tmp_path / name), "--dry-run")
        assert code == 2 and "invalid spec (1 problem)" in stderr
        assert "Traceback" not in stderr


@pytest.mark.parametrize("run_id", ["../../escape", "two\nlines", "x" * 100_000, ".hidden"])
def test_cli_refuses_bad_run_ids(tmp_path, capsys, run_id):
    """A run id that is too long or would leave `runs/` is refused before anything runs."""
    spec = write(tmp_path / "s.yaml", spec_dict())
    code, stderr = cli(capsys, "run", str(spec), "--run-id", run_id)
    assert code == 2 and stderr.startswith("error: a run id")
    assert len(stderr) < 500
    code, stderr = cli(capsys, "export", run_id)
    assert code == 2 and stderr.startswith("error: a run id")


async def test_cli_refuses_credentials_in_base_url_and_stores_nothing(
    tmp_path, capsys, redis, monkeypatch
):
    """A password in base_url is refused, pointing at api_key_env; neither Redis nor the
    disk gets it, and the message does not repeat it."""
    monkeypatch.setenv("DRIFTLAB_REDIS_URL", test_redis_url())
    monkeypatch.chdir(tmp_path)
    persona = {"name": "p", "system": "s", "base_url": "https://me:hunter2@example.com/v1"}
    spec = write(tmp_path / "s.yaml", spec_dict(personas=[persona]))
    code = await asyncio.to_thread(main, ["run", str(spec)])  # main() runs its own loop
    stderr = capsys.readouterr().err
    assert code == 2 and "personas.0.base_url" in stderr and "api_key_env" in stderr
    assert "hunter2" not in stderr
    assert await redis.dbsize() == 0 and not (tmp_path / "runs").exists()


def test_cli_bad_redis_urls_exit_2_with_the_password_masked(tmp_path, capsys, monkeypatch):
    """A bad scheme, a malformed authority and a non-numeric database are refused."""
    for url, reason in (
        ("http://127.0.0.1:6379", "schemes"),
        ("redis://:@@@", "%40"),
        ("redis://:secret@/0", "no host"),
        ("redis://127.0.0.1:6379/x", "must be a number"),
    ):
        monkeypatch.setenv("DRIFTLAB_REDIS_URL", url)
        code, stderr = cli(capsys, "runs")
        assert code == 2 and reason in stderr and "Traceback" not in stderr
        assert "secret" not in stderr


def test_cli_bad_setting_is_named(capsys, monkeypatch):
    """A limit set to something that is not a number names its variable."""
    monkeypatch.setenv("DRIFTLAB_MAX_NODES", "lots")
    code, stderr = cli(capsys, "runs")
    assert code == 2 and "DRIFTLAB_MAX_NODES" in stderr


def test_cli_debug_shows_the_traceback(tmp_path, capsys):
    """--debug (before or after the command) adds the traceback; the exit code is the same."""
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    for args in (["--debug", "run"], ["run", "--debug"]):
        code, stderr = cli(capsys, *args, str(tmp_path / "latin1.yaml"))
        assert code == 2 and "Traceback" in stderr and "not UTF-8" in stderr


def test_cli_unwritable_out_is_refused_before_running(tmp_path, capsys, monkeypatch):
    """`--out` under a file is refused before anything runs or is stored."""
    monkeypatch.setenv("DRIFTLAB_REDIS_URL", test_redis_url())
    (tmp_path / "file").write_text("")
    spec = write(tmp_path / "s.yaml", spec_dict())
    code, stderr = cli(capsys, "run", str(spec), "--out", str(tmp_path / "file" / "out"))
    assert code == 2 and "is not a directory" in stderr


async def test_cli_says_when_a_run_stops_early(tmp_path, capsys, redis, monkeypatch):
    """`rounds: 10000` on a 3-agent line ends after round 3 and the CLI says why."""
    monkeypatch.setenv("DRIFTLAB_REDIS_URL", test_redis_url())
    spec = write(tmp_path / "s.yaml", spec_dict(rounds=10_000))
    code = await asyncio.to_thread(main, ["run", str(spec), "--out", str(tmp_path / "out")])
    stderr = capsys.readouterr().err
    assert code == 0, stderr
    assert "stopped after round 3 of 10000: no agent has anything to read" in stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["timings"]["round_seconds"]) == 3
