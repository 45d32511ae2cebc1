"""GET /v1/runs lists summaries by default; `fields=` asks for the spec, the whole record
(`full`) or named fields; paged."""

from __future__ import annotations

import pytest

from service.api.app import create_app
from service.api.run_fields import SUMMARY_FIELDS
from tests.conftest import spec_dict
from tests.test_api import api_settings, finished, start

RUNS = 40


@pytest.fixture
async def api(aiohttp_client, store, tmp_path):
    """40 stored runs: one run by the server, 39 copies of its record under other ids."""
    client = await aiohttp_client(create_app(api_settings(tmp_path)))
    first = await start(client, spec_dict(rounds=3))
    await finished(client, first)
    record = await store.get_run(first)
    spec = record.pop("spec")
    kept = {k: v for k, v in record.items() if k not in ("id", "status", "created_at")}
    for index in range(1, RUNS):
        await store.create_run(f"copy-{index:02}", {**spec, "name": f"copy{index}"})
        await store.update_run(f"copy-{index:02}", status=None, **kept)
    return client


async def _listing(api, **params: str) -> tuple[list[dict], int]:
    """The listing's items and the size of its body in bytes."""
    response = await api.get("/v1/runs", params=params)
    assert response.status == 200, await response.text()
    body = await response.read()
    return (await response.json())["items"], len(body)


async def test_summaries_by_default_much_smaller_than_whole_records(api):
    """Without `fields`: each record is its summary (no spec, no drift tables), carrying
    what the dashboard's list shows; `full,spec` gives whole records, several times the
    bytes."""
    items, size = await _listing(api)
    whole, whole_size = await _listing(api, fields="full,spec")
    assert len(items) == len(whole) == RUNS
    for item in items:
        record = item["record"]
        assert set(record) <= set(SUMMARY_FIELDS)
        assert "spec" not in record and "drift" not in record
        assert record["rounds"] == record["rounds_done"] == 3
        assert record["counts"]["messages"] > 0 and record["backend"] == "synthetic"
    for item in whole:
        assert item["record"]["spec"]["rounds"] == 3 and len(item["record"]["drift"]) > 0
    assert size * 5 < whole_size, (size, whole_size)


async def test_full_is_the_old_default_and_spec_comes_on_request(api):
    """`full`: every record field but the spec; `spec` alone, or beside the summary."""
    items, _ = await _listing(api, fields="full")
    assert all("spec" not in item["record"] and "drift" in item["record"] for item in items)
    items, _ = await _listing(api, fields="summary,spec")
    for item in items:
        assert item["record"]["spec"]["name"] == item["record"]["name"]
        assert set(item["record"]) <= {*SUMMARY_FIELDS, "spec"}


async def test_spec_on_request_and_paging(api):
    """Pages of 15 give every run once, newest first; the fields asked for, no others."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"fields": "status,spec", "limit": "15", **({"cursor": cursor} if cursor else {})}
        body = await (await api.get("/v1/runs", params=params)).json()
        assert all(set(item["record"]) == {"status", "spec"} for item in body["items"])
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == RUNS
    assert seen[:2] == ["copy-39", "copy-38"]
