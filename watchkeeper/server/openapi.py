"""The OpenAPI document: the routes as FastAPI describes them, with the one generic invoke route
replaced by one operation per skill carrying its params schema — the same derivation as the LLM and
MCP schemas (`derive.params_schema`), so the document always matches the registry it is built from."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from watchkeeper import __version__
from watchkeeper.server.auth import PUBLIC, WEBHOOK_PATHS
from watchkeeper.skills import derive
from watchkeeper.skills.base import Skill
from watchkeeper.skills.params import EDGE_DESCRIPTION, LOCAL_EDGE
from watchkeeper.skills.registry import Registry

GENERIC = "/api/v1/skills/{key}/invoke"
PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "rule": {"type": "string"},
        "invocation": {"type": "object"},
    },
    "required": ["type", "title", "status", "detail"],
}
INVOCATION_SCHEMA = {
    "type": "object",
    "description": "One call's outcome, as audited.",
    "properties": {
        "key": {"type": "string"},
        "status": {"type": "string", "enum": ["succeeded", "failed"]},
        "edge": {"type": ["string", "null"]},
        "params": {"type": "object"},
        "result": {},
        "error": {"type": ["string", "null"]},
        "rule": {"type": ["string", "null"]},
        "problems": {"type": "array", "items": {"type": "object"}},
        "truncated": {"type": "boolean"},
        "duration_ms": {"type": "number"},
        "audit_id": {"type": ["integer", "null"]},
    },
}

SIGNATURE_SCHEME = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Watchkeeper-Signature",
    "description": "For senders that cannot send a bearer token: `sha256=<hex HMAC-SHA256 of the raw body>` "
    "with the secret of one of the `[[alerts.sources]]` — over `<timestamp>:<body>` with "
    "`X-Watchkeeper-Timestamp: <Unix seconds>` (within 5 min; required by a source's `require_timestamp`); "
    "Grafana's own `X-Grafana-Alerting-Signature` is accepted too. A bad signature is 401.",
}


def _problems(*codes: int) -> dict[str, Any]:
    return {
        str(c): {"description": "A problem", "content": {"application/problem+json": {"schema": PROBLEM}}}
        for c in codes
    }


def invoke_operation(skill: Skill) -> dict[str, Any]:
    body = {
        "type": "object",
        "properties": {
            "params": derive.params_schema(skill),
            "edge": {"type": "string", "default": LOCAL_EDGE, "description": EDGE_DESCRIPTION},
        },
        "additionalProperties": False,
    }
    return {
        "post": {
            "operationId": f"invoke_{skill.key.replace('.', '_')}",
            "summary": f"{skill.meta.name} ({skill.meta.risk.value})",
            "description": derive.tool_description(skill),
            "tags": ["skills"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {
                    "description": "The call ran: `status` says whether it succeeded.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invocation"}}},
                },
                **_problems(400, 401, 403, 404, 413, 422, 429, 504),
            },
        }
    }


def document(app: FastAPI, registry: Registry) -> dict[str, Any]:
    doc = get_openapi(title="watchkeeper", version=__version__, routes=app.routes)
    paths: dict[str, Any] = doc["paths"]
    paths.pop(GENERIC, None)
    for skill in registry.all():
        paths[f"/api/v1/skills/{skill.key}/invoke"] = invoke_operation(skill)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(Problem=PROBLEM_SCHEMA, Invocation=INVOCATION_SCHEMA)
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}, "signature": SIGNATURE_SCHEME}
    doc["security"] = [{"bearer": []}]
    for path in PUBLIC:
        for operation in paths.get(path, {}).values():
            operation["security"] = []
    for path, item in paths.items():  # an alert post may be signed instead: either one will do
        if path.startswith(WEBHOOK_PATHS) and "post" in item:
            item["post"]["security"] = [{"bearer": []}, {"signature": []}]
    return doc
