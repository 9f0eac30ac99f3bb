"""The one error answer of every Arrowhook route: `{"error": <code>, "message": <text>, "details": [...]}`.

`error` is a stable, machine-readable code; `message` is for people; `details` lists what was wrong
with a request that did not match its schema (field, problem). Each API maps its domain errors to a
status and a code in one table (functions/webhook/app.py, arrowhook.admin.app). API Gateway's own
answers (401 without an Authorization header, 403 from the authorizer, 429 throttling) keep its
`{"message": ...}`: an HTTP API cannot reshape them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    field: str = Field(description="Where: `body.name`, `query.since`, ...")
    problem: str


class ErrorBody(BaseModel):
    error: str = Field(description="Stable code, e.g. `unauthorized`, `not_found`, `invalid_request`.")
    message: str
    details: list[ErrorDetail] | None = Field(None, description="Only for requests that do not match the schema.")
