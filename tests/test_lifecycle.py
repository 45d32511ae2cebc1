"""A run's lifecycle: one home for ids and status, faces kept off the engine, `succeeded`
only once the exports exist, and a versioned wire format between engine and workers."""

from __future__ import annotations

import ast
import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import yaml

from agents.backend import Usage
from service.api import create_app
from service.api.problems import STATUS_OF, problem_status
from service.cli.failures import EXIT_OF, describe
from service.errors import Category, LeaseHeld, RunNotFound, UnknownWireVersion
from service.experiment.experiment import load
from service.experiment.settings import Settings
from service.lifecycle import RunHooks, run_spec
from service.provenance import keys
from service.provenance.message import Observed, TextMetrics
from service.provenance.policies import Delivery
from service.provenance.redis_conn import RedisUnavailable
from service.provenance.step_queue import ensure_group
from service.provenance.tags import Carried
from service.run.step import Failed, Settled, Skipped
from service.run.step_batch import StepInput
from service.run.step_worker import StepWorker, WorkerOptions
from service.run.wire import decode_outcomes, decode_steps, encode_outcomes, encode_steps
from service.status import RunStatus
from tests.conftest import cli_process, cli_result, spec_dict
from tests.test_api import api_settings, start

SERVICE = Path(__file__).resolve().parent.parent / "service"
FACES = [
    *SERVICE.glob("cli*.py"),
    *SERVICE.glob("cli/**/*.py"),
    *SERVICE.glob("api/**/*.py"),
    SERVICE / "worker.py",
]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_faces_never_import_the_engine():
    """No module of the CLI, the HTTP API or the worker imports service.run or below."""
    assert len(FACES) > 10
    offending = {
        f"{path.relative_to(SERVICE.parent)}: {name}"
        for path in FACES
        for name in imported_modules(path)
        if name == "service.run" or name.startswith("service.run.")
    }
    assert not offending


def test_run_ids_are_minted_in_one_place():
    """The function minting run ids is called once in service/ (by `new_run`)."""
    calls = [
        path
        for path in SERVICE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_mint"
    ]
    assert [p.relative_to(SERVICE) for p in calls] == [Path("lifecycle/ids.py")]


async def test_api_run_is_exported_on_the_first_succeeded_seen(aiohttp_client, redis, tmp_path):
    """Polling a run as fast as it goes: the first view saying `succeeded` (after `exporting`
    or `running`) comes with its drift views, and its messages.jsonl is on disk."""
    api = await aiohttp_client(create_app(api_settings(tmp_path)))
    run_id = await start(api, spec_dict(rounds=4))
    seen = []
    while True:
        body = await (await api.get(f"/v1/runs/{run_id}")).json()
        seen.append(body["status"])
        if RunStatus(body["status"]).finished:
            break
        await asyncio.sleep(0.002)
    assert body["status"] == "succeeded", seen
    assert (tmp_path / "runs" / run_id / "messages.jsonl").stat().st_size > 0
    assert body["record"]["drift_by_round"]


async def test_cli_run_is_exported_on_the_first_succeeded_stored(store, tmp_path):
    """While `driftlab run` goes, the first time its stored status reads `succeeded`, its
    exports exist (until then it is `running`, then `exporting`)."""
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec_dict(rounds=6)))
    out = tmp_path / "out"
    process = await cli_process(
        "run", str(spec_path), "--run-id", "cli-first", "--out", str(out), cwd=tmp_path
    )
    seen: list[str] = []
    while process.returncode is None:
        status = await store.redis.hget(keys.run("cli-first"), "status")
        if status is not None and (not seen or seen[-1] != status.decode()):
            seen.append(status.decode())
            if status == b"succeeded":
                assert (out / "messages.jsonl").stat().st_size > 0
                assert await store.redis.hexists(keys.run("cli-first"), "drift_by_round")
                break
        await asyncio.sleep(0.002)
    code, _, err = await cli_result(process, 120)
    assert code == 0, err
    assert seen[-1] == "succeeded" and "exporting" in seen, seen


def test_the_wire_format_round_trips_steps_and_outcomes():
    """A step with an inbox and an anchor, and a settled outcome carrying a many-thousand-bit
    root set, come back equal."""
    carried = Carried("r:0:1:a0", "text", "model", 3, 1, (1 << 20_000) | 5, 1)
    observed = Observed(tagged=True, origin="model", generation=3)
    delivery = Delivery("a0", carried, observed, 2)
    steps = [StepInput("a1", [delivery, delivery], delivery, None), StepInput("a2", [], None)]
    decoded = decode_steps(encode_steps(steps))
    assert decoded == steps
    assert decoded[0].inbox[0].message is decoded[0].anchor.message  # one object, as sent
    metrics = TextMetrics(length_words=1, unique_words=1, type_token_ratio=1.0)
    usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    settled = Settled("a0", carried, {"a1": observed}, usage, metrics, 2, ("x",), 1.5)
    skipped = Skipped("a2", 1, "nothing to read")
    assert decode_outcomes(encode_outcomes([(0, settled), (3, skipped)])) == [
        (0, settled),
        (3, skipped),
    ]


def test_an_unknown_or_pickled_document_is_refused():
    """Another version, or bytes that are not a wire document (a pickle), are refused."""
    for raw in (b'{"v": 99, "node": "a0"}', b"\x80\x05K\x01."):
        try:
            decode_steps(raw)
        except UnknownWireVersion as exc:
            assert "version" in str(exc) or "wire document" in str(exc)
        else:
            raise AssertionError(f"{raw!r} was read")


async def test_a_worker_dead_letters_a_step_of_an_unknown_version(store, caplog):
    """A step written in wire version 99 is not run: the worker logs why, puts it in the
    run's dead letters and commits it as a failed step the engine can read."""
    run_id = "wired"
    await store.create_run(run_id, spec_dict(distributed=True), replicate=0)
    await store.update_run(run_id, RunStatus.RUNNING)
    await store.redis.set(keys.lease(run_id), "test", px=60_000)
    await ensure_group(store.redis)
    step = json.dumps({"v": 99, "node": "a0"})
    fields = {"run": run_id, "replicate": 0, "round": 0, "index": 0, "humans": 0, "input": step}
    await store.redis.xadd(keys.STEPS, fields)
    worker = StepWorker(store.redis, Settings(), WorkerOptions(concurrency=2, block_ms=50))
    with caplog.at_level(logging.ERROR, logger="driftlab.worker"):
        serving = asyncio.create_task(worker.serve())
        try:
            for _ in range(400):
                if await store.redis.hexists(keys.done(run_id, 0), 0):
                    break
                await asyncio.sleep(0.02)
        finally:
            worker.stop()
            await asyncio.wait_for(serving, 30)
    [(_, outcome)] = decode_outcomes(await store.redis.hget(keys.done(run_id, 0), 0))
    assert isinstance(outcome, Failed) and outcome.record.kind == "dead_letter"
    assert outcome.record.node == "a0" and "version 99" in outcome.record.reason
    [dead] = await store.redis.lrange(keys.dead_letters(run_id), 0, -1)
    assert b"version 99" in dead
    [line] = [r for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert "version 99" in line.getMessage() and line.run_id == run_id
    assert worker.steps_done == 0


def test_help_and_version_import_no_server_plots_or_embedder():
    """`driftlab --help` and `--version` answer without importing aiohttp, matplotlib, the
    embedders or the engine."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['driftlab', sys.argv[1]]\n"
        "try:\n    runpy.run_module('service.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('aiohttp', 'matplotlib', 'agents.embedding', 'service.run', 'service.api')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
    )
    for flag in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-c", probe, flag], capture_output=True, text=True, check=True
        )
        assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr
        assert "driftlab" in done.stdout


def test_every_error_category_has_an_exit_code_and_an_http_status():
    """Both maps cover every category; a lease held by another process is a conflict: exit
    2 and HTTP 409; an unknown run exit 2 and 404; Redis down exit 1 and 503."""
    assert set(EXIT_OF) == set(STATUS_OF) == set(Category)
    cases = [
        (LeaseHeld("run 'x' is being run by h:1"), 2, 409),
        (RunNotFound("x"), 2, 404),
        (RedisUnavailable("no Redis"), 1, 503),
        (UnknownWireVersion("wire format version 99"), 2, 422),
    ]
    for error, code, status in cases:
        assert describe(error).code == code and problem_status(error) == status


async def test_every_log_record_of_a_run_carries_its_run_id(store, tmp_path, caplog):
    """Records logged while a run executes (here from its round hook, inside the engine's
    task) carry the run's id; a record logged after the run carries none."""
    log = logging.getLogger("driftlab.test")
    hooks = RunHooks(round=lambda report: log.warning("round %d", report.round))
    with caplog.at_level(logging.WARNING, logger="driftlab.test"):
        await run_spec(
            load(spec_dict(rounds=2)), store, run_id="logged", out_dir=tmp_path, hooks=hooks
        )
        log.warning("after the run")
    rounds = [r for r in caplog.records if r.getMessage().startswith("round")]
    assert len(rounds) == 2
    assert {getattr(r, "run_id", None) for r in rounds} == {"logged"}
    after = [r for r in caplog.records if r.getMessage() == "after the run"]
    assert getattr(after[0], "run_id", None) is None
