"""GET /v1/runs?fields=: small summaries, the spec only on request, paged."""

from __future__ import annotations

import pytest

from service.api.app import create_app
from service.api.run_fields import SUMMARY_FIELDS
from tests.conftest import spec_dict
from tests.test_api import api_settings


@pytest.fixture
async def api(aiohttp_client, store, tmp_path):
    for index in range(3):
        await store.create_run(f"run-{index}", spec_dict(name=f"exp{index}"), rounds=4)
        await store.update_run(f"run-{index}", drift=[{"generation": g} for g in range(500)])
    return await aiohttp_client(create_app(api_settings(tmp_path)))


async def test_summary_fields_only(api):
    body = await (await api.get("/v1/runs", params={"fields": "summary"})).json()
    assert [item["id"] for item in body["items"]] == ["run-2", "run-1", "run-0"]
    for item in body["items"]:
        assert set(item["record"]) <= set(SUMMARY_FIELDS)
        assert int(item["record"]["rounds"]) == 4 and item["record"]["name"].startswith("exp")
        assert "drift" not in item["record"] and "spec" not in item["record"]


async def test_spec_on_request_and_paging(api):
    response = await api.get("/v1/runs", params={"fields": "status,spec", "limit": "2"})
    body = await response.json()
    assert len(body["items"]) == 2 and body["next_cursor"] is not None
    assert body["items"][0]["record"]["spec"]["name"] == "exp2"
    assert set(body["items"][0]["record"]) == {"status", "spec"}
    rest = await (
        await api.get("/v1/runs", params={"fields": "summary", "cursor": body["next_cursor"]})
    ).json()
    assert [item["id"] for item in rest["items"]] == ["run-0"]


async def test_default_listing_is_unchanged(api):
    """Without `fields`: the whole record but the spec, as before."""
    item = (await (await api.get("/v1/runs")).json())["items"][0]
    assert "spec" not in item["record"] and len(item["record"]["drift"]) == 500
