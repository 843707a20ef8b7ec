"""The OpenAPI 3.1 document of the API, made from the operations an app
serves (the Link pages are not in it); served at /openapi.json."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from s2b_tui.api.models import ErrorBody
from s2b_tui.sandbox.server.middleware.idempotency import IDEMPOTENT_METHODS
from s2b_tui.sandbox.server.operations import ANY_CALL, ERROR_DESCRIPTIONS, Operation
from s2b_tui.sandbox.server.urls import API_PREFIX

_SCHEMAS = "#/components/schemas/{model}"
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Run this request at most once; a retry gets the stored reply.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[ -~]+$"},
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
_API_KEY = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "sk_test_…",
    "description": "The sandbox's key, printed by `s2b-tui sandbox serve`.",
}


def _errors(error_body: dict[str, Any], statuses: tuple[int, ...]) -> dict[str, Any]:
    """OpenAPI `responses` for these error statuses."""
    responses: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        response: dict[str, Any] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": error_body}},
        }
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        responses[str(status)] = response
    return responses


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as OpenAPI parameters; the schemas they refer to
    go into `schemas`."""
    schema = model.model_json_schema(ref_template=_SCHEMAS)
    schemas.update(schema.get("$defs", {}))
    required = schema.get("required", [])
    parameters = []
    for name, field_schema in schema["properties"].items():
        field_schema = _never_null(field_schema)
        parameter = {"name": name, "in": "query", "required": name in required}
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append({**parameter, "schema": field_schema})
    return parameters


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its null: a query string has
    no null, the parameter is left out instead. Constraints beside `anyOf`
    (a pattern) move into the schema of the value."""
    variants = schema.get("anyOf")
    if not variants or {"type": "null"} not in variants or len(variants) != 2:
        return schema
    (value,) = [v for v in variants if v != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**value, **rest}


def openapi_document(
    operations: tuple[Operation, ...], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """The OpenAPI document of `operations` (the Link pages are not in it)."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (op.body, "validation") for op in operations if op.body is not None
    ]
    models += [(op.response, "serialization") for op in operations if op.response is not None]
    models.append((ErrorBody, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=_SCHEMAS)
    schemas = definitions.get("$defs", {})
    error_body = refs[(ErrorBody, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", op.path)
        ]
        if op.query is not None:
            parameters += _query_parameters(op.query, schemas)
        if op.method in IDEMPOTENT_METHODS:
            parameters.append(_IDEMPOTENCY_KEY)
        success: dict[str, Any] = {"description": "Successful Response"}
        if op.response is not None:
            schema = refs[(op.response, "serialization")]
            success["content"] = {"application/json": {"schema": schema}}
        operation: dict[str, Any] = {
            "tags": [op.tag],
            "summary": op.handler.__name__.replace("_", " ").capitalize(),
            "operationId": op.handler.__name__,
        }
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            schema = refs[(op.body, "validation")]
            operation["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": schema}},
            }
        operation["responses"] = {
            str(op.status): success,
            **_errors(error_body, ANY_CALL + op.errors),
        }
        operation["security"] = [{"ApiKey": []}]
        paths.setdefault(API_PREFIX + op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"ApiKey": _API_KEY}},
    }
