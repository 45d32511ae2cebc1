"""The dashboard in headless Chromium (Debian's `chromium` through Playwright; no browser is
downloaded) against a live `driftlab serve` with a token: start a run from the page and watch
its nodes change colour, read a lineage's word diff, open a study comparison. Each test saves
screenshots under tests/output/dashboard/."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, free_port, spec_dict, test_redis_url
from tests.test_api_studies import study_dict

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run does)",
)
# the page draws with Canvas 2D only: WebGL is switched off to keep it that way
CHROMIUM_ARGS = ["--disable-3d-apis"]
OUTPUT = ROOT / "tests" / "output" / "dashboard"
TOKEN = "e2e-token-0123456789"  # tokens need 16 characters
SILENT = "#c9ced6"
STUB_LATENCY_S = 0.4
RUN_YAML = """\
name: watched
seed: 3
backend: openai
model: stub-model
embedder: none
topology: {kind: line, n_agents: 10}
rounds: 10
source:
  text: >-
    Concorde first flew on 2 March 1969 from Toulouse with André Turcat at the controls,
    cruised at Mach 2.04 and carried 100 passengers; only 20 were built.
  facts:
    - {name: toulouse, patterns: ["Toulouse"]}
    - {name: pilot, patterns: ["Turcat"]}
    - {name: mach, patterns: ["Mach 2"]}
    - {name: twenty, patterns: ["20"]}
"""

# 300 rounds with human text injected every round (without, a chain goes quiet and ends once
# its last agent has spoken)
LIVE_FOR_MINUTES = {
    "rounds": 300,
    "injection": {"rate": 1.0},
    "human_corpus": ["Concorde flew from Toulouse at Mach 2 with 100 passengers."],
}


def _process(*args: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=environment)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until `url` answers (any HTTP status)."""
    for _ in range(300):
        assert process.poll() is None, f"{url}: the process exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within 30 s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`driftlab serve` with a token, beside an OpenAI-compatible stub that answers slowly
    enough for rounds to be watched."""
    stub_port, port = free_port(), free_port()
    stub = _process(
        "agents.openai_stub", "--port", str(stub_port), "--latency", str(STUB_LATENCY_S)
    )
    serve = _process(
        "service.cli", "serve", "--port", str(port),
        DRIFTLAB_REDIS_URL=test_redis_url(),
        DRIFTLAB_API_TOKEN=TOKEN,
        DRIFTLAB_RUNS_DIR=str(tmp_path_factory.mktemp("runs")),
        OPENAI_BASE_URL=f"http://127.0.0.1:{stub_port}/v1",
        OPENAI_API_KEY="stub",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _until_up(f"http://127.0.0.1:{stub_port}/", stub)
        _until_up(f"{url}/v1/health", serve)
        yield url
    finally:
        _stop(serve)
        _stop(stub)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A signed-in page (the token typed into the login field); uncaught script errors fail
    the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(server)
    opened.fill("#token", TOKEN)
    opened.click("#login button")
    playwright.expect(opened.locator("#login-state")).to_contain_text("signed in")
    yield opened
    context.close()
    assert not errors, errors


def shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def call(server: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{server}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
                 "Accept": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def until_finished(server: str, path: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = call(server, "GET", path)
        if body["status"] not in ("queued", "running", "exporting"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path} did not finish")


def node_colours(page: Any) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries(document.getElementById('graph').liveGraph.graph"
        ".mapNodes((node, attributes) => [node, attributes.color]))"
    )


def test_start_a_run_from_the_page_and_watch_nodes_change_colour(page, server):
    """A bad field is flagged on its line; the valid spec starts; while the run streams, the
    graph's agents turn from grey to drift colours, and the counts reach the run's total."""
    page.goto(f"{server}/#/new")
    page.fill("#spec", RUN_YAML.replace("n_agents: 10", "n_agents: 0"))
    note = page.locator(".editor .bad .note")
    playwright.expect(note).to_contain_text("topology.n_agents")
    assert page.locator(".editor .bad").first.inner_text().startswith("topology:")
    shot(page, "editor-error")
    page.fill("#spec", RUN_YAML)
    playwright.expect(page.locator("#spec-status")).to_contain_text("valid: a run: 10 agents")
    page.click("#start")
    page.wait_for_url("**/#/run/**")
    page.wait_for_function(
        "() => { const view = document.getElementById('view');"
        " return view.dataset.graphReady === 'true' && Number(view.dataset.rounds) >= 2; }"
    )
    early = node_colours(page)
    shot(page, "run-streaming")
    playwright.expect(page.locator("#run-status .badge")).to_have_text("succeeded", timeout=60_000)
    page.wait_for_function("() => document.getElementById('view').dataset.rounds === '10'")
    late = node_colours(page)
    shot(page, "run-finished")
    spoken_early = [node for node, colour in early.items() if colour != SILENT]
    spoken_late = [node for node, colour in late.items() if colour != SILENT]
    assert len(spoken_early) < len(spoken_late) == len(late)
    changed = [node for node in early if early[node] != late[node]]
    assert changed, "no node changed colour while messages arrived"
    run_id = page.url.rsplit("/", 1)[1]
    record = call(server, "GET", f"/v1/runs/{run_id}")["record"]
    messages = page.locator("[data-stat=messages]").inner_text()
    assert messages.startswith(f"{record['counts']['messages']} ")


def test_open_a_lineage_from_a_node_and_read_its_diff(page, server):
    """A click on the chain's last agent (after zooming about it and dragging the graph)
    opens its message's lineage: one hop per generation back to the human text, each with
    the words its retelling added and removed."""
    # every retelling changes its text (the fitted channel passes most short texts on as
    # they are: settled_change), so each hop has words to highlight
    spec = spec_dict(
        rounds=5, topology={"kind": "line", "n_agents": 5}, channel={"settled_change": 1.0}
    )
    run_id = call(server, "POST", "/v1/runs", spec)["id"]
    until_finished(server, f"/v1/runs/{run_id}")
    page.goto(f"{server}/#/run/{run_id}")
    page.wait_for_function(
        "() => { const view = document.getElementById('view');"
        " return view.dataset.rounds === '5' && view.dataset.graphReady === 'true'; }"
    )
    last = call(server, "GET", f"/v1/runs/{run_id}/messages?round=4&origin=model")["items"][0]
    topology = call(server, "GET", f"/v1/runs/{run_id}/topology")
    node = last["node"]
    source = next(n["id"] for n in topology["nodes"] if n["role"] == "human_source")

    def where(node: str) -> tuple[float, float]:
        x, y = page.evaluate(
            "(node) => { const at = document.getElementById('graph').liveGraph"
            ".viewportPosition(node); const box = document.getElementById('graph')"
            ".getBoundingClientRect(); return [box.left + at.x, box.top + at.y]; }",
            node,
        )
        return float(x), float(y)

    # the wheel zooms about the pointer (the node under it stays), a drag pans; events carry
    # whole pixels, so the pointer sits within a pixel of the node
    x, y = (round(at) for at in where(node))
    apart = math.dist(where(node), where(source))
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    page.wait_for_function("() => document.getElementById('graph').liveGraph.zoom > 1")
    assert math.dist(where(node), (x, y)) < 5 and math.dist(where(node), where(source)) > 2 * apart
    before = where(node)
    page.mouse.down()
    page.mouse.move(x - 60, y + 40, steps=6)
    page.mouse.up()
    assert math.dist(where(node), (before[0] - 60, before[1] + 40)) < 0.5
    page.mouse.click(*where(node))
    hops = page.locator("#lineage .hop")
    playwright.expect(hops).to_have_count(last["generation"] + 1)
    assert "human text" in hops.first.inner_text()
    changed = page.locator("#lineage .hop ins, #lineage .hop del")  # a hop may change nothing
    assert changed.count() > 0
    first_change = changed.first.inner_text().strip()
    texts = call(server, "GET", f"/v1/runs/{run_id}/messages?limit=100")["items"]
    assert first_change and first_change in " ".join(message["text"] for message in texts)
    shot(page, "lineage")
    page.click("#lineage a:text('open full page')")
    playwright.expect(page.locator(".dag circle")).to_have_count(5 + 1)
    shot(page, "lineage-page")


def test_open_a_study_comparison(page, server):
    """A finished two-axis study shows a curve per condition, the summary table with a row per
    condition and the phase diagram; two of its runs picked in the list are overlaid."""
    study = study_dict(name="e2e-study", replicates=2)
    study_id = call(server, "POST", "/v1/studies", study)["id"]
    until_finished(server, f"/v1/studies/{study_id}", timeout_s=180)
    page.goto(f"{server}/#/")
    playwright.expect(page.locator(f"#studies a:text('{study_id}')").first).to_be_visible()
    page.locator(f"#studies a:text('{study_id}')").first.click()
    page.wait_for_function("() => document.getElementById('view').dataset.ready === 'true'")
    conditions = call(server, "GET", f"/v1/studies/{study_id}")["conditions"]
    legend = page.locator(".uplot .u-legend .u-series th")
    labels = [text.strip() for text in legend.all_inner_texts()]
    assert all(condition["name"] in labels for condition in conditions)
    playwright.expect(page.locator("#summary tr")).to_have_count(len(conditions) + 1)
    image = page.locator("#phase img")
    playwright.expect(image).to_be_visible()
    assert image.evaluate("(img) => img.naturalWidth") > 0
    shot(page, "study")
    picked = [run["id"] for run in call(server, "GET", f"/v1/studies/{study_id}")["runs"][:2]]
    page.goto(f"{server}/#/")
    for run_id in picked:
        page.locator(f"#runs tr[data-run='{run_id}'] input[type=checkbox]").check()
    page.click("#compare")
    page.wait_for_url("**/#/compare/**")
    playwright.expect(page.locator(".uplot")).to_have_count(2)
    labels = page.locator(".uplot .u-legend .u-series th").all_inner_texts()
    assert all(any(run_id in label for label in labels) for run_id in picked)
    shot(page, "compare-runs")


def test_cancel_and_delete_a_run_from_the_list(page, server):
    """The list shows a live run, its backend, size and progress from the listing's summaries;
    Cancel (confirmed) stops it, Delete (confirmed) removes it; the filter narrows the list to
    matching rows."""
    spec = {**yaml.safe_load(RUN_YAML), "name": "to-cancel", "rounds": 300}
    spec["topology"] = {"kind": "mixing", "n_agents": 10}  # cycles: it talks for minutes
    run_id = call(server, "POST", "/v1/runs", spec)["id"]
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server}/#/")
    row = page.locator(f"#runs tr[data-run='{run_id}']")
    playwright.expect(row.locator(".badge")).to_have_text("running", timeout=30_000)
    playwright.expect(row).to_contain_text("openai · 10 agents · 300 rounds")
    progress = row.locator("progress")  # the summary's rounds_done over its rounds
    playwright.expect(progress).not_to_have_attribute("value", "0", timeout=30_000)
    assert 0 < float(progress.get_attribute("value") or 0) < 1
    shot(page, "runs")
    page.fill("#filter", run_id)
    playwright.expect(page.locator("#runs tr[data-run]")).to_have_count(1)
    row.locator("button:text('Cancel')").click()
    playwright.expect(row.locator(".badge")).to_have_text("cancelled", timeout=30_000)
    assert call(server, "GET", f"/v1/runs/{run_id}")["status"] == "cancelled"
    row.locator("button:text('Delete')").click()
    playwright.expect(row).to_have_count(0)
    with pytest.raises(urllib.error.HTTPError) as gone:
        call(server, "GET", f"/v1/runs/{run_id}")
    gone.value.close()
    assert gone.value.code == 404


def test_cancel_and_delete_a_study_from_the_list(page, server):
    """A live study's Cancel (confirmed) stops it and its runs; its Delete (confirmed)
    removes it and its runs."""
    base = {**yaml.safe_load(RUN_YAML), **LIVE_FOR_MINUTES}
    study = study_dict(name="e2e-cancelled", base=base, grid={"provenance.tag_loss": [0, 0.5]})
    study_id = call(server, "POST", "/v1/studies", study)["id"]
    questions: list[str] = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.goto(f"{server}/#/")
    row = page.locator(f"#studies tr[data-study='{study_id}']")
    playwright.expect(row.locator(".badge")).to_have_text("running", timeout=30_000)
    row.locator("button:text('Cancel')").click()
    playwright.expect(row.locator(".badge")).to_have_text("cancelled", timeout=60_000)
    view = call(server, "GET", f"/v1/studies/{study_id}")
    assert view["status"] == "cancelled"
    assert not {run["status"] for run in view["runs"]} & {"running", "succeeded"}
    shot(page, "study-cancelled")
    row.locator("button:text('Delete')").click()
    playwright.expect(row).to_have_count(0)
    assert questions[0].startswith(f"cancel study {study_id}")
    assert questions[1].startswith(f"delete study {study_id}")
    for path in (f"/v1/studies/{study_id}", f"/v1/runs/{view['runs'][0]['id']}"):
        with pytest.raises(urllib.error.HTTPError) as gone:
            call(server, "GET", path)
        gone.value.close()
        assert gone.value.code == 404
