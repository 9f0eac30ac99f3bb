"""What every admin API function shares: security headers, error answers, the Mangum Lambda entry point.

Only the admin functions import this (FastAPI is too heavy for the webhook's cold start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum

from arrowhook.errors import (
    InvalidCursorError,
    InvalidFilterError,
    KeyConflictError,
    KeyNotFoundError,
    NameTakenError,
    StoreUnavailableError,
)
from arrowhook.observability import logger, metrics, traced

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found."}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: {"description": "The store is temporarily unavailable."}}
MALFORMED_BODY: dict[int | str, dict[str, Any]] = {400: {"description": "The body is not valid JSON."}}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {400: {"description": "Invalid cursor or filter value."}}


def _error(status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=SECURITY_HEADERS)


def create_admin_app(title: str, description: str, version: str) -> FastAPI:
    app = FastAPI(title=title, description=description, version=version)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        """A body that is not JSON at all is a 400 (as documented); a JSON body that breaks the rules, 422."""
        if any(detail.get("type") == "json_invalid" for detail in error.errors()):
            return _error(400, "the body is not valid JSON")
        response: Response = await request_validation_exception_handler(request, error)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(KeyNotFoundError)
    async def key_not_found(_: Request, error: KeyNotFoundError) -> JSONResponse:
        return _error(404, "key not found")

    @app.exception_handler(NameTakenError)
    async def name_taken(_: Request, error: NameTakenError) -> JSONResponse:
        return _error(409, str(error))

    @app.exception_handler(KeyConflictError)
    async def key_conflict(_: Request, error: KeyConflictError) -> JSONResponse:
        return _error(409, str(error))

    @app.exception_handler(InvalidFilterError)
    async def invalid_filter(_: Request, error: InvalidFilterError) -> JSONResponse:
        return _error(400, str(error))

    @app.exception_handler(InvalidCursorError)
    async def invalid_cursor(_: Request, error: InvalidCursorError) -> JSONResponse:
        return _error(400, "invalid cursor")

    @app.exception_handler(StoreUnavailableError)
    async def store_unavailable(_: Request, error: StoreUnavailableError) -> JSONResponse:
        logger.error("store unavailable", extra={"reason": str(error)})
        return _error(503, "store temporarily unavailable, retry")

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
