"""Lineage, drift CSV and plots, exports and resume over HTTP, against the real Redis."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import struct
from typing import Any
from xml.etree import ElementTree

import networkx as nx
import pyarrow.parquet as pq
import pytest

from service.api import create_app
from service.api.negotiation import preferred
from service.measure.export import DRIFT_COLUMNS
from service.measure.views import ROUND_COLUMNS
from service.provenance import keys
from tests.conftest import spec_dict
from tests.test_api import api_settings, by_place, finished, start

MIXING = {"kind": "mixing", "graph": "small_world", "n_agents": 6, "k": 2, "p": 0.2}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def api(aiohttp_client, redis, tmp_path):
    return await aiohttp_client(create_app(api_settings(tmp_path)))


async def exported(api, run_id: str) -> dict[str, Any]:
    """The run once finished: a final status means its exports and views are written."""
    await finished(api, run_id)
    return await (await api.get(f"/v1/runs/{run_id}")).json()


async def all_messages(api, run_id: str) -> dict[str, dict[str, Any]]:
    page = await (await api.get(f"/v1/runs/{run_id}/messages", params={"limit": 1000})).json()
    assert page["next_cursor"] is None
    return {m["id"]: m for m in page["items"]}


def closure(start_id: str, links: dict[str, list[str]]) -> set[str]:
    """Every id reachable from `start_id` through `links` (not `start_id` itself)."""
    seen: set[str] = set()
    frontier = list(links.get(start_id, []))
    while frontier:
        current = frontier.pop()
        if current not in seen:
            seen.add(current)
            frontier.extend(links.get(current, []))
    return seen


async def problem_fields(response) -> set[str]:
    assert response.status == 422
    return {p["field"] for p in (await response.json())["problems"]}


async def test_lineage_holds_ancestors_to_the_human_roots_and_descendants(api):
    """The lineage of a model message in a mixing network is exactly its ancestors (human
    roots included) and descendants, with one edge per parent link among them."""
    run_id = await start(api, spec_dict(rounds=5, topology=MIXING))
    assert (await finished(api, run_id))["status"] == "succeeded"
    messages = await all_messages(api, run_id)
    children: dict[str, list[str]] = {}
    for message in messages.values():
        for parent in message["parents"]:
            children.setdefault(parent, []).append(message["id"])
    chosen = next(
        m for m in sorted(messages.values(), key=lambda m: m["id"])
        if m["origin"] == "model" and m["round"] == 2 and m["id"] in children
    )  # fmt: skip
    ancestors = closure(chosen["id"], {i: m["parents"] for i, m in messages.items()})
    descendants = closure(chosen["id"], children)
    assert descendants

    response = await api.get(f"/v1/runs/{run_id}/messages/{chosen['id']}/lineage")
    assert response.status == 200
    body = await response.json()
    nodes = {node["id"]: node for node in body["nodes"]}
    assert body["message"] == chosen["id"]
    assert set(nodes) == {chosen["id"]} | ancestors | descendants
    assert set(chosen["roots"]) <= set(nodes)
    assert all(nodes[root]["origin"] == "human" for root in chosen["roots"])
    assert all(nodes[i] == messages[i] for i in nodes)
    edges = {(edge["source"], edge["target"]) for edge in body["edges"]}
    assert len(edges) == len(body["edges"])
    assert edges == {
        (parent, node_id)
        for node_id, node in nodes.items()
        for parent in node["parents"]
        if parent in nodes
    }
    assert all((parent, i) in edges for i in ancestors for parent in messages[i]["parents"])


async def test_lineage_as_graphml_parses_back_to_the_same_graph(api):
    """`?format=graphml` is GraphML networkx reads back: the same nodes and edges, with the
    message tags as node attributes (lists as JSON)."""
    run_id = await start(api, spec_dict(rounds=4, topology=MIXING))
    await finished(api, run_id)
    messages = await all_messages(api, run_id)
    chosen = next(m for m in messages.values() if m["origin"] == "model" and m["round"] == 2)
    path = f"/v1/runs/{run_id}/messages/{chosen['id']}/lineage"
    as_json = await (await api.get(path)).json()
    response = await api.get(path, params={"format": "graphml"})
    assert response.status == 200
    assert response.content_type == "application/graphml+xml"
    graph = nx.parse_graphml(await response.text())
    assert isinstance(graph, nx.DiGraph)
    assert set(graph.nodes) == {node["id"] for node in as_json["nodes"]}
    assert set(graph.edges) == {(e["source"], e["target"]) for e in as_json["edges"]}
    tags = graph.nodes[chosen["id"]]
    assert tags["origin"] == "model" and tags["generation"] == chosen["generation"]
    assert tags["round"] == 2 and tags["node"] == chosen["node"]
    assert json.loads(tags["roots"]) == chosen["roots"]
    assert tags["drift.length_words"] == chosen["drift"]["length_words"]


async def test_lineage_of_unknown_message_or_bad_format(api):
    """An unknown message is 404; an unknown format is 422 naming `format`."""
    run_id = await start(api, spec_dict(rounds=1))
    await finished(api, run_id)
    assert (await api.get(f"/v1/runs/{run_id}/messages/nope/lineage")).status == 404
    assert (await api.get("/v1/runs/nope/messages/nope/lineage")).status == 404
    some = next(iter(await all_messages(api, run_id)))
    bad = await api.get(f"/v1/runs/{run_id}/messages/{some}/lineage", params={"format": "dot"})
    assert await problem_fields(bad) == {"format"}


def csv_matches(text: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == columns
    parsed = list(reader)
    assert len(parsed) == len(rows) > 0
    for row, expected in zip(parsed, rows, strict=True):
        assert row == {c: "" if expected.get(c) is None else str(expected[c]) for c in columns}


async def test_drift_is_csv_when_accept_prefers_it(api):
    """With `Accept: text/csv` drift is CSV, per generation by default and per round with
    `?table=round`, holding the JSON rows; JSON stays the default."""
    run_id = await start(api, spec_dict(rounds=4))
    rounds = len((await exported(api, run_id))["record"]["round_seconds"])
    path = f"/v1/runs/{run_id}/drift"
    as_json = await (await api.get(path)).json()
    response = await api.get(path, headers={"Accept": "text/csv"})
    assert response.status == 200 and response.content_type == "text/csv"
    csv_matches(await response.text(), as_json["drift"], DRIFT_COLUMNS)
    by_round = await api.get(path, params={"table": "round"}, headers={"Accept": "text/*"})
    csv_matches(await by_round.text(), as_json["drift_by_round"], ROUND_COLUMNS)
    assert [row["round"] for row in as_json["drift_by_round"]] == list(range(rounds))
    assert rounds > 1
    for accept in ("application/json", "text/csv;q=0.5, application/json", "*/*"):
        response = await api.get(path, headers={"Accept": accept})
        assert response.content_type == "application/json"
        assert await response.json() == as_json
    bad = await api.get(path, params={"table": "nope"}, headers={"Accept": "text/csv"})
    assert await problem_fields(bad) == {"table"}


def test_preferred_follows_quality_and_specificity():
    """The offer with the highest quality wins; the most specific range sets it; ties and no
    header fall back to the first offer."""
    offers = ("application/json", "text/csv")
    assert preferred(None, offers) == "application/json"
    assert preferred("text/csv", offers) == "text/csv"
    assert preferred("text/csv, application/json", offers) == "application/json"
    assert preferred("application/json;q=0.4, text/csv;q=0.6", offers) == "text/csv"
    assert preferred("*/*;q=0.1, text/csv", offers) == "text/csv"
    assert preferred("text/*, text/csv;q=0", offers) == "application/json"
    assert preferred("image/png", offers) == "application/json"


async def test_drift_plots_are_png_and_svg(api):
    """drift.png is a PNG image, drift.svg an SVG document; an unknown run is 404."""
    run_id = await start(api, spec_dict(rounds=3))
    await exported(api, run_id)
    png = await api.get(f"/v1/runs/{run_id}/drift.png")
    assert png.status == 200 and png.content_type == "image/png"
    image = await png.read()
    assert image.startswith(PNG_SIGNATURE) and image[12:16] == b"IHDR"
    width_px, height_px = struct.unpack(">II", image[16:24])
    svg = await api.get(f"/v1/runs/{run_id}/drift.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    document = await svg.read()
    root = ElementTree.fromstring(document)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    width_pt = float(root.get("width", "").removesuffix("pt"))
    height_pt = float(root.get("height", "").removesuffix("pt"))
    assert (width_px, height_px) == (round(width_pt / 72 * 300), round(height_pt / 72 * 300))
    assert f"{run_id} (synthetic)".encode() in document  # the title, kept as a comment
    assert (await api.get("/v1/runs/nope/drift.png")).status == 404


async def test_export_in_each_format_holds_every_message(api):
    """JSONL has one line per stored message, CSV one row, Parquet one row; a bad format is
    422 naming `format`."""
    run_id = await start(api, spec_dict(rounds=4, topology=MIXING))
    record = (await finished(api, run_id))["record"]
    ids = set(await all_messages(api, run_id))
    assert len(ids) == record["counts"]["messages"]
    path = f"/v1/runs/{run_id}/export"

    jsonl = await api.get(path, params={"format": "jsonl"})
    assert jsonl.status == 200 and jsonl.content_type == "application/x-ndjson"
    lines = (await jsonl.text()).splitlines()
    assert len(lines) == len(ids)
    assert {json.loads(line)["id"] for line in lines} == ids
    assert (await (await api.get(path)).text()).splitlines() == lines

    as_csv = await api.get(path, params={"format": "csv"})
    assert as_csv.status == 200 and as_csv.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await as_csv.text(), newline="")))
    assert [row["id"] for row in rows] == [json.loads(line)["id"] for line in lines]

    parquet = await api.get(path, params={"format": "parquet"})
    assert parquet.status == 200 and parquet.content_type == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(await parquet.read()))
    assert table.num_rows == len(ids)
    assert set(table.column("id").to_pylist()) == ids

    assert await problem_fields(await api.get(path, params={"format": "xml"})) == {"format"}
    assert (await api.get("/v1/runs/nope/export")).status == 404


async def test_export_of_a_run_waiting_to_start_is_409(aiohttp_client, redis, tmp_path):
    """With the one run slot taken, a queued run has nothing stored: its export is 409."""
    api = await aiohttp_client(create_app(api_settings(tmp_path, max_concurrent_runs=1)))
    first = await start(api, spec_dict(rounds=30, topology=MIXING))
    second = await start(api, spec_dict(rounds=1))
    assert (await api.get(f"/v1/runs/{second}/export")).status == 409
    assert (await finished(api, second))["status"] == "succeeded"
    assert (await api.get(f"/v1/runs/{second}/export")).status == 200
    await finished(api, first)


async def test_cancelled_run_resumes_over_http_to_the_same_messages(
    aiohttp_client, redis, tmp_path, openai_endpoint
):
    """A run cancelled mid-run resumes over HTTP (202, Location) to `succeeded`, with every
    round's messages equal to an uninterrupted run's; resuming a run another process holds,
    a run resuming, or a succeeded run is 409, and an unknown run 404."""
    await openai_endpoint(latency_s=0.05)
    api = await aiohttp_client(create_app(api_settings(tmp_path)))
    spec = spec_dict(backend="openai", model="stub-model", rounds=8, topology=MIXING, concurrency=2)
    run_id = await start(api, spec)
    for _ in range(400):
        page = await (await api.get(f"/v1/runs/{run_id}/messages", params={"limit": 8})).json()
        if len(page["items"]) == 8:
            break
        await asyncio.sleep(0.02)
    cancelled = await api.post(f"/v1/runs/{run_id}/cancel")
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
    cut = await all_messages(api, run_id)
    await redis.set(keys.lease(run_id), "another-process", px=5000)
    held = await api.post(f"/v1/runs/{run_id}/resume")
    assert held.status == 409 and "live" in (await held.json())["error"]
    await redis.delete(keys.lease(run_id))

    response = await api.post(f"/v1/runs/{run_id}/resume")
    assert response.status == 202
    assert response.headers["Location"] == f"/v1/runs/{run_id}"
    assert (await response.json())["status"] == "queued"
    assert (await api.post(f"/v1/runs/{run_id}/resume")).status == 409
    body = await exported(api, run_id)
    assert body["status"] == "succeeded" and "resumed_at" in body["record"]

    whole = await start(api, spec)
    assert (await finished(api, whole))["status"] == "succeeded"
    resumed = by_place(list((await all_messages(api, run_id)).values()))
    reference = by_place(list((await all_messages(api, whole)).values()))
    assert 0 < len(cut) < len(reference)
    assert resumed == reference
    assert {round_ for round_, _ in resumed} == set(range(8))

    again = await api.post(f"/v1/runs/{run_id}/resume")
    assert again.status == 409 and "succeeded" in (await again.json())["error"]
    assert (await api.post("/v1/runs/nope/resume")).status == 404


async def test_interrupted_run_resumes_over_http(api, redis):
    """A run left `running` without a lease (its process died) shows `interrupted`, and
    resuming it over HTTP ends it `succeeded` with the same messages."""
    run_id = await start(api, spec_dict(rounds=3))
    await exported(api, run_id)
    before = await all_messages(api, run_id)
    await redis.hset(keys.run(run_id), "status", "running")
    assert (await (await api.get(f"/v1/runs/{run_id}")).json())["status"] == "interrupted"
    assert (await api.post(f"/v1/runs/{run_id}/resume")).status == 202
    assert (await exported(api, run_id))["status"] == "succeeded"
    after = await all_messages(api, run_id)
    assert by_place(list(after.values())) == by_place(list(before.values()))
