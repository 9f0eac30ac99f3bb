"""One OpenAPI document for the whole HTTP API: the keys app's own schema plus the webhook and health.

The admin functions are FastAPI apps, so their part is generated from the code; the webhook is a
Powertools resolver (chosen for cold start), so its part is described here, next to the models it
returns. `make openapi` writes the result to openapi.json; the local gateway serves it at /docs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from arrowhook_tools.samples import strategy_alert
from arrowhook_tools.template import PROJECT_ROOT, LocalTemplate

OUTPUT = PROJECT_ROOT / "openapi.json"
ADMIN_FUNCTIONS = ("KeysFunction", "AlertsFunction")
_STORED = {
    "type": "object",
    "required": ["status", "alert_id", "duplicate"],
    "properties": {
        "status": {"type": "string", "enum": ["stored"]},
        "alert_id": {
            "type": "string",
            "description": "ULID of the stored alert (the first delivery's for a duplicate).",
        },
        "duplicate": {"type": "boolean"},
    },
}
_GATEWAY_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _webhook_operation(with_token: bool) -> dict[str, Any]:
    example = json.loads(strategy_alert("ahk_your_secret"))
    operation: dict[str, Any] = {
        "tags": ["webhook"],
        "summary": "Receive one TradingView alert" + (" (secret in the path)" if with_token else ""),
        "description": "TradingView's alert message after placeholder substitution: JSON (secret in `key`, "
        "`secret` or `passphrase`) or any text. Fields that cannot be read are stored as null with a parse "
        "issue; an authenticated alert is never dropped.",
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "additionalProperties": True},
                    "example": {k: v for k, v in example.items() if not (with_token and k == "key")},
                },
                "text/plain": {"schema": {"type": "string"}, "example": "BTCUSDT crossed 65000"},
            },
        },
        "responses": {
            "200": _json("#/components/schemas/AlertStored", "Stored (or a duplicate of a stored alert)."),
            "400": _json("#/components/schemas/ErrorBody", "Empty body or invalid base64."),
            "401": _json("#/components/schemas/ErrorBody", "Missing, unknown, disabled or rotated-out key."),
            "403": _json("#/components/schemas/ErrorBody", "Source IP outside the allowlist."),
            "413": _json("#/components/schemas/ErrorBody", "Body larger than the configured limit."),
            "503": _json("#/components/schemas/ErrorBody", "Store unavailable; nothing stored, retry is safe."),
        },
    }
    if with_token:
        operation["parameters"] = [
            {
                "name": "token",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The strategy's secret.",
            }
        ]
    return operation


def _admin_schema(logical_id: str, template: LocalTemplate) -> dict[str, Any]:
    """Import the FastAPI app with its template environment (no AWS call happens at import)."""
    from arrowhook_tools.runtime import _load_module

    spec = template.function_spec(logical_id)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    module = _load_module(spec, 0)
    schema: dict[str, Any] = module.app.openapi()
    return schema


def _health_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", "version", "checks"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "unavailable"]},
                        "version": {"type": "string"},
                        "checks": {
                            "type": "object",
                            "properties": {"store": {"type": "string", "enum": ["ok", "unreachable"]}},
                        },
                    },
                }
            }
        },
    }


def build(template: LocalTemplate | None = None) -> dict[str, Any]:
    template = template or LocalTemplate()
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Arrowhook HTTP API",
            "version": template.parameters.get("Version", "0.1.0"),
            "description": "TradingView webhook (public) and admin API (bearer admin token).",
        },
        "paths": {
            "/webhook": {"post": _webhook_operation(with_token=False)},
            "/webhook/{token}": {"post": _webhook_operation(with_token=True)},
            "/health": {
                "get": {
                    "tags": ["operations"],
                    "summary": "Health: version and a cheap check that the alert store answers",
                    "security": [],
                    "responses": {
                        "200": _health_response("Up: alerts can be stored"),
                        "503": _health_response("The alert store is unreachable: webhooks would fail"),
                    },
                }
            },
            "/version": {
                "get": {
                    "tags": ["operations"],
                    "summary": "Build information stamped by `sam build`",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "Version, commit and build time (`local` when run from source)",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["version", "commit", "built_at"],
                                        "properties": {
                                            "version": {"type": "string"},
                                            "commit": {"type": "string"},
                                            "built_at": {"type": "string"},
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {"AlertStored": _STORED, "GatewayError": _GATEWAY_ERROR},
            "securitySchemes": {
                "AdminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The admin token (an SSM SecureString; `arrowhook login --stack` reads it).",
                }
            },
        },
    }
    for logical_id in ADMIN_FUNCTIONS:
        admin = _admin_schema(logical_id, template)
        document["components"]["schemas"].update(admin.get("components", {}).get("schemas", {}))
        for path, operations in admin["paths"].items():
            for operation in operations.values():
                operation["security"] = [{"AdminToken": []}]
                operation["responses"].setdefault(
                    "401",
                    {
                        "description": "No Authorization header (API Gateway).",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}},
                    },
                )
                operation["responses"].setdefault(
                    "403",
                    {
                        "description": "Wrong admin token (API Gateway).",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}},
                    },
                )
            document["paths"][path] = operations
    return document


DOCS_PAGE = """<!doctype html>
<html><head><title>Arrowhook API</title><meta charset="utf-8">
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});</script>
</body></html>
"""


def write(path: Path = OUTPUT) -> Path:
    path.write_text(json.dumps(build(), indent=2) + "\n", encoding="utf-8")
    return path
