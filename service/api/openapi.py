"""The OpenAPI 3.1 document of the API, built from the declared operations and their pydantic
models (JSON Schema 2020-12, which OpenAPI 3.1 uses as is)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Collection, Iterable
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from service.api.models import ErrorBody
from service.api.routing import Answer, Answers, Operation, Routes
from service.api.spec_docs import describe_spec_fields

REF_TEMPLATE = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"\{(\w+)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")
SECURITY_SCHEME = "bearer"

ModelKey = tuple[type[BaseModel], JsonSchemaMode]


def build_document(
    groups: Iterable[Routes], open_paths: Collection[str], title: str = "driftlab API"
) -> dict[str, Any]:
    """The document for every operation of `groups`; those on `open_paths` need no token
    (`security: []`), every other one answers 401 without it and 503 while Redis is down.
    Operations taking a body or a query answer 422 (and 413 and 415 for a body) as the
    error middleware does."""
    operations = [operation for group in groups for operation in group.operations]
    refs, schemas = _schemas(operations)
    describe_spec_fields(schemas)
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for operation in operations:
        path = PATH_PARAMETER.sub(r"{\1}", operation.path)
        item = _operation(operation, refs, schemas, operation.path in open_paths)
        item["operationId"] = _unique(operation, operation_ids)
        paths.setdefault(path, {})[operation.method.lower()] = item
    for name in _query_only(operations, refs):
        del schemas[name]
    _link_created(operations, paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": _version()},
        "tags": [{"name": tag} for tag in dict.fromkeys(op.tag for op in operations if op.tag)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "bearer"}},
        },
        "security": [{SECURITY_SCHEME: []}],
    }


def _link_created(operations: list[Operation], paths: dict[str, dict[str, Any]]) -> None:
    """OpenAPI links from each `202` answer creating a resource (`{"id", ...}` posted to a
    path without parameters) to every operation under that path taking its id as the one
    path parameter: what stateful testing follows."""
    for creator in operations:
        created = creator.responses.get(202)
        has_id = isinstance(created, type) and "id" in created.model_fields
        if not has_id or PATH_PARAMETER.search(creator.path):
            continue
        links = {}
        for target in operations:
            names = PATH_PARAMETER.findall(target.path)
            if len(names) == 1 and target.path.startswith(f"{creator.path}/{{"):
                target_id = _item(paths, target)["operationId"]
                links[target_id] = {
                    "operationId": target_id,
                    "parameters": {names[0]: "$response.body#/id"},
                }
        if links:
            _item(paths, creator)["responses"]["202"]["links"] = links


def _item(paths: dict[str, dict[str, Any]], operation: Operation) -> dict[str, Any]:
    item: dict[str, Any] = paths[PATH_PARAMETER.sub(r"{\1}", operation.path)]
    return item[operation.method.lower()]


def _schemas(
    operations: list[Operation],
) -> tuple[dict[ModelKey, dict[str, Any]], dict[str, Any]]:
    """One schema per model and mode (bodies and queries validated, responses serialized),
    every definition under components."""
    keys: dict[ModelKey, None] = {(ErrorBody, "serialization"): None}
    for operation in operations:
        if operation.body is not None:
            keys[operation.body, "validation"] = None
        if operation.query is not None:
            keys[operation.query, "validation"] = None
        for answers in operation.responses.values():
            for answer in _alternatives(answers):
                if not isinstance(answer, str):
                    keys[answer, "serialization"] = None
    refs, top = models_json_schema(list(keys), ref_template=REF_TEMPLATE)
    return {key: refs[key] for key in keys}, top.get("$defs", {})


def _query_only(operations: list[Operation], refs: dict[ModelKey, dict[str, Any]]) -> set[str]:
    """Schemas of query models used for nothing else (their fields are the parameters)."""
    queries = {op.query for op in operations if op.query is not None}
    query_names = {_name(refs[query, "validation"]) for query in queries}
    other_names = {_name(ref) for (model, _), ref in refs.items() if model not in queries}
    return query_names - other_names


def _operation(
    operation: Operation,
    refs: dict[ModelKey, dict[str, Any]],
    schemas: dict[str, Any],
    open_: bool,
) -> dict[str, Any]:
    item: dict[str, Any] = {"summary": operation.summary, "tags": [operation.tag]}
    doc = inspect.getdoc(operation.handler) or ""
    if doc and doc != operation.summary:
        item["description"] = doc
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PATH_PARAMETER.findall(operation.path)
    ]
    if operation.query is not None:
        parameters += _query_parameters(operation.query, refs, schemas)
    if parameters:
        item["parameters"] = parameters
    if operation.body is not None:
        item["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[operation.body, "validation"]}},
        }
    responses = dict(operation.responses)
    if operation.body is not None:
        responses.setdefault(413, ErrorBody)
        responses.setdefault(415, ErrorBody)
    if operation.body is not None or operation.query is not None:
        responses.setdefault(422, ErrorBody)
    if open_:
        item["security"] = []
    else:
        responses.setdefault(401, ErrorBody)
        responses.setdefault(503, ErrorBody)
    item["responses"] = {
        str(status): _response(status, answer, refs) for status, answer in sorted(responses.items())
    }
    return item


def _query_parameters(
    query: type[BaseModel], refs: dict[ModelKey, dict[str, Any]], schemas: dict[str, Any]
) -> list[dict[str, Any]]:
    """One parameter per field of the query model, with its schema and description."""
    schema = schemas[_name(refs[query, "validation"])]
    properties: dict[str, Any] = schema.get("properties", {})
    parameters = []
    for name, field in query.model_fields.items():
        key = field.alias or name
        prop = _absent_is_none(properties[key])
        description = properties[key].get("description") or field.description
        parameter: dict[str, Any] = {
            "name": key,
            "in": "query",
            "required": field.is_required(),
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _absent_is_none(schema: dict[str, Any]) -> dict[str, Any]:
    """A query field's schema without its title and description, and without the `null`
    choice of an optional field (a query string leaves it out instead)."""
    kept = {k: v for k, v in schema.items() if k not in ("title", "description")}
    choices = kept.get("anyOf", [])
    others = [choice for choice in choices if choice != {"type": "null"}]
    if len(others) == 1 and len(choices) == 2:
        del kept["anyOf"]
        if kept.get("default", 0) is None:
            del kept["default"]
        kept = {**others[0], **kept}
    return kept


def _response(
    status: int, answers: Answers, refs: dict[ModelKey, dict[str, Any]]
) -> dict[str, Any]:
    """An answer's description and its body per media type (a model's as JSON)."""
    content: dict[str, Any] = {}
    for answer in _alternatives(answers):
        if not isinstance(answer, str):
            content["application/json"] = {"schema": refs[answer, "serialization"]}
        elif answer:
            content[answer] = {}
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if content:
        response["content"] = content
    return response


def _alternatives(answers: Answers) -> tuple[Answer, ...]:
    return answers if isinstance(answers, tuple) else (answers,)


def _name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _unique(operation: Operation, taken: set[str]) -> str:
    """The handler's name, qualified by its tag when another operation has it already."""
    name = operation.handler.__name__
    if name in taken:
        name = f"{operation.tag}_{name}"
    taken.add(name)
    return name


def _version() -> str:
    try:
        return version("driftlab")
    except PackageNotFoundError:
        return "0"
