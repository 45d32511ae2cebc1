"""The OpenAPI document and the /docs page, served by the real app against the real Redis."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from openapi_spec_validator import validate
from pydantic import BaseModel, Field, SecretStr

from service.api import create_app
from service.api.middleware import OPEN_PATHS
from service.api.models import ErrorBody, RunView
from service.api.openapi import build_document
from service.api.routes import ROUTE_GROUPS
from service.api.routing import Routes
from tests.test_api import TOKEN, api_settings, finished

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
async def api(aiohttp_client, redis, tmp_path):
    return await aiohttp_client(create_app(api_settings(tmp_path)))


@pytest.fixture
async def document(api) -> dict[str, Any]:
    response = await api.get("/v1/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    return dict(await response.json())


def refs(node: Any) -> list[str]:
    """Every `$ref` anywhere under `node`."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return dict(document["paths"][path][method])


async def test_document_is_valid_openapi_31_with_every_declared_route(document):
    """The served document validates as OpenAPI 3.1 and lists every declared operation."""
    validate(document)
    assert document["openapi"] == "3.1.0"
    declared = {(op.method.lower(), op.path) for group in ROUTE_GROUPS for op in group.operations}
    served = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    assert served == declared
    ids = [item["operationId"] for p in document["paths"].values() for item in p.values()]
    assert len(ids) == len(set(ids))


async def test_every_reference_resolves(document):
    """Every `$ref` points at a schema under components (nothing dangling, no local $defs)."""
    schemas = document["components"]["schemas"]
    found = refs(document)
    assert "#/components/schemas/ExperimentSpec" in found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert all("$defs" not in schema for schema in schemas.values())


async def test_parameters_bodies_and_answers(document):
    """Path parameters come from the path, query parameters from the query model's fields
    (schema and description), bodies and answers from the pydantic models."""
    listing = operation(document, "get", "/v1/runs/{run}/messages")
    by_name = {p["name"]: p for p in listing["parameters"]}
    assert by_name["run"] == {
        "name": "run",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    assert set(by_name) == {"run", "cursor", "limit", "round", "node", "origin", "generation"}
    assert by_name["limit"]["in"] == "query" and not by_name["limit"]["required"]
    assert by_name["limit"]["schema"]["maximum"] == 1000
    assert by_name["limit"]["description"] == "items per page"
    assert by_name["origin"]["schema"] == {"enum": ["human", "model"], "type": "string"}
    assert by_name["round"]["schema"] == {"type": "integer", "minimum": 0}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessagePage"
    }
    assert "MessageQuery" not in document["components"]["schemas"]
    start = operation(document, "post", "/v1/runs")
    body = start["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ExperimentSpec"}
    assert {"202", "401", "413", "422"} <= set(start["responses"])
    deleted = operation(document, "delete", "/v1/runs/{run}")
    assert set(deleted["responses"]) == {"204", "401", "404", "409", "422", "503"}
    assert "content" not in deleted["responses"]["204"]
    assert [p["name"] for p in deleted["parameters"]] == ["run", "force"]
    status = document["components"]["schemas"]["RunStatus"]
    assert "interrupted" in status["enum"]


async def test_the_run_listing_documents_summaries_by_default(document):
    """`GET /v1/runs`: `fields` defaults to `summary`; its description names `full` and `spec`."""
    listing = operation(document, "get", "/v1/runs")
    fields = {p["name"]: p for p in listing["parameters"]}["fields"]
    assert fields["schema"] == {"type": "string", "default": "summary"}
    assert "`full`" in fields["description"] and "`spec`" in fields["description"]


async def test_the_spec_example_starts_a_run(api, document):
    """The document's example spec is valid: posted, it starts a run."""
    example = document["components"]["schemas"]["ExperimentSpec"]["examples"][0]
    response = await api.post("/v1/runs", json=example)
    assert response.status == 202, await response.text()
    run_id = (await response.json())["id"]
    assert (await finished(api, run_id))["status"] == "succeeded"


async def test_security_marks_the_open_routes(document):
    """Bearer auth is the default; health, the document and the docs page need none."""
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert document["security"] == [{"bearer": []}]
    for path, item in document["paths"].items():
        for method, op in item.items():
            if path in OPEN_PATHS:
                assert op["security"] == [], (method, path)
                assert "401" not in op["responses"]
            else:
                assert "security" not in op, (method, path)
                assert op["responses"]["401"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }


class ExtraQuery(BaseModel):
    depth: int = Field(2, ge=0, description="how deep")
    label: str = Field(description="a required label")


class ExtraBody(BaseModel):
    name: str


def test_a_new_route_group_is_documented_from_its_declarations():
    """A group another module declares shows up with its parameters, body and answers."""
    extra = Routes("extra")

    @extra.post(
        "/v1/things/{thing}/parts/{part:\\d+}",
        body=ExtraBody,
        query=ExtraQuery,
        responses={200: (RunView, "text/csv"), 404: ErrorBody, 201: "text/csv"},
    )
    async def make_part(request: web.Request) -> web.Response:
        """Make a part.

        With more words."""
        return web.Response()

    document = build_document((extra,), OPEN_PATHS)
    validate(document)
    item = document["paths"]["/v1/things/{thing}/parts/{part}"]["post"]
    assert item["summary"] == "Make a part."
    assert "With more words." in item["description"]
    assert item["tags"] == ["extra"] and document["tags"] == [{"name": "extra"}]
    params = {p["name"]: p for p in item["parameters"]}
    assert params["part"]["in"] == "path" and params["thing"]["in"] == "path"
    assert params["label"]["required"] and params["label"]["description"] == "a required label"
    assert params["depth"]["schema"] == {"type": "integer", "minimum": 0, "default": 2}
    assert item["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExtraBody"
    }
    assert item["responses"]["201"]["content"] == {"text/csv": {}}
    assert item["responses"]["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/RunView"}},
        "text/csv": {},
    }
    assert "RunStatus" in document["components"]["schemas"]


async def test_docs_page_renders_from_files_this_server_serves(api):
    """/docs loads Swagger UI from this server only; every file it names is served."""
    response = await api.get("/docs")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "//" not in page
    assert 'url: "v1/openapi.json"' in page
    assets = re.findall(r'(?:src|href)="(docs/[^"]+)"', page)
    assert "docs/swagger-ui-bundle.js" in assets and "docs/swagger-ui.css" in assets
    for asset in assets:
        served = await api.get(f"/{asset}")
        assert served.status == 200, asset
        assert len(await served.read()) > 100
    script = await api.get("/docs/swagger-ui-bundle.js")
    assert script.content_type in ("application/javascript", "text/javascript")
    missing = await api.get("/docs/..%2Fpyproject.toml")
    assert missing.status == 404
    assert (await missing.json())["error"].startswith("no docs file")


async def test_document_and_docs_are_open_when_a_token_is_set(aiohttp_client, redis, tmp_path):
    """With a token, the document and docs page answer without it; run routes do not."""
    api = await aiohttp_client(create_app(api_settings(tmp_path, api_token=SecretStr(TOKEN))))
    for path in ("/v1/openapi.json", "/docs", "/docs/swagger-ui.css", "/v1/health"):
        assert (await api.get(path)).status == 200, path
    assert (await api.get("/docs/nothing.js")).status == 404
    assert (await api.get("/v1/runs")).status == 401
    assert (await api.get("/docs/../v1/runs")).status == 401
