"""The OpenAPI 3.1 document of the API, made from the operations an app
serves (the Link pages are not in it); served at /openapi.json.

Paths are relative to the one server entry, `/v1` (relative to where the
document is served: the sandbox's origin), so a client generated from it
works with the base URL API.md gives, `http://127.0.0.1:PORT/v1`. Every
response declares the headers it carries: `X-Correlation-Id` always,
`Idempotent-Replayed` on what a POST or PATCH can replay, `Retry-After` on
429 and 503, `WWW-Authenticate` on 401.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from s2b_tui.sandbox.server.middleware.idempotency import IDEMPOTENT_METHODS
from s2b_tui.sandbox.server.operations import ANY_CALL, ERROR_DESCRIPTIONS, Operation
from s2b_tui.sandbox.server.replies import (
    CORRELATION_ID_PATTERN,
    ErrorBody,
    ValidationErrorBody,
)
from s2b_tui.sandbox.server.urls import API_PREFIX

_SCHEMAS = "#/components/schemas/{model}"
_HEADERS = "#/components/headers/{name}"
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Run this request at most once; a retry gets the stored reply.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[ -~]+$"},
}
# The response headers, declared once under components/headers.
_RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Correlation-Id": {
        "description": "This reply's id; error bodies repeat it as `correlationId`.",
        "required": True,
        "schema": {"type": "string", "pattern": CORRELATION_ID_PATTERN},
    },
    "Idempotent-Replayed": {
        "description": (
            "`true` when this is the stored reply to an earlier request with the same "
            "Idempotency-Key (absent otherwise)."
        ),
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "The scheme the API key goes in.",
        "required": True,
        "schema": {"type": "string", "enum": ["Bearer"]},
    },
}
_API_KEY = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "sk_test_…",
    "description": "The sandbox's key, printed by `s2b-tui sandbox serve`.",
}
_SERVER = {
    "url": API_PREFIX,
    "description": (
        "The API, under the origin that serves this document "
        "(a sandbox's base URL is http://127.0.0.1:PORT/v1)"
    ),
}


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": _HEADERS.format(name=name)} for name in names}


def _replayable(op: Operation) -> set[int]:
    """The statuses a replay of `op` can answer: its success and the errors
    it answers after the idempotency check (a 5xx is never stored, and 401,
    413 and 429 answer before the check)."""
    if op.method not in IDEMPOTENT_METHODS:
        return set()
    return {op.status, *op.errors}


def _errors(
    bodies: dict[int, dict[str, Any]], statuses: tuple[int, ...], replayable: set[int]
) -> dict[str, Any]:
    """OpenAPI `responses` for these error statuses; `bodies` holds the
    schema of 422's body and (under 0) of every other's."""
    responses: dict[str, Any] = {}
    for status in sorted(set(statuses)):
        headers = ["X-Correlation-Id"]
        if status in replayable:
            headers.append("Idempotent-Replayed")
        if status in (429, 503):
            headers.append("Retry-After")
        if status == 401:
            headers.append("WWW-Authenticate")
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "headers": _headers(*headers),
            "content": {"application/json": {"schema": bodies.get(status, bodies[0])}},
        }
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
    models += [(ErrorBody, "serialization"), (ValidationErrorBody, "serialization")]
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=_SCHEMAS)
    schemas = definitions.get("$defs", {})
    error_bodies = {
        0: refs[(ErrorBody, "serialization")],
        422: refs[(ValidationErrorBody, "serialization")],
    }
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
        replayable = _replayable(op)
        success_headers = ["X-Correlation-Id"]
        if op.status in replayable:
            success_headers.append("Idempotent-Replayed")
        success: dict[str, Any] = {
            "description": "Successful Response",
            "headers": _headers(*success_headers),
        }
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
            **_errors(error_bodies, ANY_CALL + op.errors, replayable),
        }
        operation["security"] = [{"ApiKey": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [_SERVER],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": _RESPONSE_HEADERS,
            "securitySchemes": {"ApiKey": _API_KEY},
        },
    }
