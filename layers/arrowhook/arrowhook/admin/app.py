"""What every admin API function shares: security headers, error answers, the Mangum Lambda entry point.

Only the admin functions import this (FastAPI is too heavy for the webhook's cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrowhook.core.error_body import ErrorBody, ErrorDetail
from arrowhook.core.errors import (
    InvalidCursorError,
    InvalidFilterError,
    KeyConflictError,
    KeyNotFoundError,
    NameTakenError,
    NotAnExportError,
    StoreUnavailableError,
)
from arrowhook.core.observability import logger, metrics, traced
from arrowhook.delivery.destinations import DestinationNotFoundError
from arrowhook.delivery.kinds.base import InvalidDestinationError

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
#: How the admin API answers each domain error: status, code, and a fixed message (None: the error's own).
ERRORS: dict[type[Exception], tuple[int, str, str | None]] = {
    KeyNotFoundError: (404, "not_found", "key not found"),
    DestinationNotFoundError: (404, "not_found", "destination not found"),
    InvalidDestinationError: (400, "invalid_destination", None),
    NameTakenError: (409, "name_taken", None),
    KeyConflictError: (409, "conflict", None),
    InvalidFilterError: (400, "invalid_filter", None),
    NotAnExportError: (400, "not_an_export", None),
    InvalidCursorError: (400, "invalid_cursor", "invalid cursor"),
    StoreUnavailableError: (503, "unavailable", "store temporarily unavailable, retry"),
}
_ERROR_CONTENT = {"model": ErrorBody}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found.", **_ERROR_CONTENT}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The store is temporarily unavailable.", **_ERROR_CONTENT}
}
MALFORMED_BODY: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON.", **_ERROR_CONTENT}
}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid cursor or filter value.", **_ERROR_CONTENT}
}
BAD_FILTER: dict[int | str, dict[str, Any]] = {400: {"description": "Invalid filter value.", **_ERROR_CONTENT}}
NOT_AN_EXPORT: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Not TradingView's List of trades export (`not_an_export`), or a bad time zone.",
        **_ERROR_CONTENT,
    }
}
#: Every route answers a request that does not match its schema with 422 and the details.
INVALID_REQUEST: dict[int | str, dict[str, Any]] = {
    422: {"description": "The request does not match the schema: `details` says where.", **_ERROR_CONTENT}
}


def error_response(status_code: int, code: str, message: str, details: list[ErrorDetail] | None = None) -> JSONResponse:
    body = ErrorBody(error=code, message=message, details=details).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def mapped_error(error: Exception) -> tuple[int, str, str]:
    """A domain error's status, code and message as every admin surface (API, console) answers it."""
    for kind in type(error).__mro__:
        if kind in ERRORS:
            status, code, message = ERRORS[kind]
            return status, code, message or str(error)
    return 500, "internal", "internal error"  # pragma: no cover - only mapped types are registered


def create_admin_app(title: str, description: str, version: str) -> FastAPI:
    app = FastAPI(title=title, description=description, version=version, responses=INVALID_REQUEST)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        """A body that is not JSON at all is a 400 (as documented); a request that breaks the rules, 422.
        The details name the field and the problem, never echo the input."""
        problems = error.errors()
        if any(problem.get("type") == "json_invalid" for problem in problems):
            return error_response(400, "invalid_json", "the body is not valid JSON")
        details = [
            ErrorDetail(field=".".join(str(part) for part in problem.get("loc", ())), problem=str(problem.get("msg")))
            for problem in problems
        ]
        return error_response(422, "invalid_request", "the request does not match the schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        """Routing's own answers (no such route, method not allowed) in the same envelope."""
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail))

    async def domain_error(_: Request, error: Exception) -> JSONResponse:
        status, code, message = mapped_error(error)
        if status == 503:
            logger.error("store unavailable", extra={"reason": str(error)})
        return error_response(status, code, message)

    for kind in ERRORS:
        app.add_exception_handler(kind, domain_error)
    return app


def lambda_entry(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler: Powertools logging/metrics/tracing around Mangum (never logs the event)."""
    adapter = Mangum(app, lifespan="off")

    @traced
    @logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return adapter(event, context)

    return cast(Callable[[dict[str, Any], Any], dict[str, Any]], lambda_handler)
