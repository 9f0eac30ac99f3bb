"""Webhook: POST /webhook and POST /webhook/{token}, called by TradingView.

Thin on purpose: lift the request out of the API Gateway event, call `ingest_alert`, shape the answer.
TradingView waits about 3 s, cold start included, so this module imports only what it needs.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from arrowhook.alerts.store import AlertStore
from arrowhook.aws.dynamodb import dynamodb_client
from arrowhook.aws.health import build_info, store_reachable
from arrowhook.core.error_body import ErrorBody
from arrowhook.core.errors import (
    BadEncodingError,
    BodyTooLargeError,
    EmptyBodyError,
    RejectedRequestError,
    SourceNotAllowedError,
    StoreUnavailableError,
    UnauthorizedError,
)
from arrowhook.core.models import utc_now
from arrowhook.core.observability import Metric, MetricUnit, count_rejection, logger, metrics, traced
from arrowhook.core.rejections import RejectionReason
from arrowhook.core.settings import WebhookSettings
from arrowhook.ingest.gateway_event import is_http_api_event
from arrowhook.ingest.responses import AlertStored, Health, HealthChecks, VersionInfo
from arrowhook.ingest.service import IncomingAlert, ingest_alert
from arrowhook.keys.resolver import KeyResolver

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

settings = WebhookSettings.from_environment()
keys = KeyResolver(settings.keys_table_name, settings.key_cache_ttl_seconds, settings.store_timeout_seconds)
alerts = AlertStore(
    settings.alerts_table_name, client=dynamodb_client(bounded_read_timeout=settings.store_timeout_seconds)
)
app = APIGatewayHttpResolver()
#: How the webhook answers each refusal: the one place a domain error becomes an HTTP status and code.
REJECTIONS: dict[type[RejectedRequestError], tuple[int, RejectionReason]] = {
    EmptyBodyError: (400, RejectionReason.EMPTY_BODY),
    BadEncodingError: (400, RejectionReason.BAD_ENCODING),
    UnauthorizedError: (401, RejectionReason.UNAUTHORIZED),
    SourceNotAllowedError: (403, RejectionReason.FORBIDDEN),
    BodyTooLargeError: (413, RejectionReason.PAYLOAD_TOO_LARGE),
}


def _json(status_code: int, body: BaseModel) -> Response[str]:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body.model_dump(mode="json", exclude_none=True)),
    )


def _error(status_code: int, code: str, message: str) -> Response[str]:
    return _json(status_code, ErrorBody(error=code, message=message))


def _answers(described: dict[int, tuple[type[BaseModel], str]]) -> dict[int, OpenAPIResponse]:
    """Route documentation for the generated OpenAPI: status -> (model, description)."""
    return {
        status: {"description": text, "content": {content_types.APPLICATION_JSON: {"model": model}}}
        for status, (model, text) in described.items()
    }


_WEBHOOK_ANSWERS = _answers(
    {
        200: (AlertStored, "Stored (or a duplicate of a stored alert)."),
        400: (ErrorBody, "Empty body or invalid base64."),
        401: (ErrorBody, "Missing, unknown, disabled or rotated-out key."),
        403: (ErrorBody, "Source IP outside the allowlist."),
        413: (ErrorBody, "Body larger than the configured limit."),
        503: (ErrorBody, "Store unavailable; nothing stored, retry is safe."),
    }
)
_WEBHOOK_DESCRIPTION = (
    "TradingView's alert message after placeholder substitution: JSON (secret in `key`, `secret` or "
    "`passphrase`) or any text. Fields that cannot be read are stored as null with a parse issue; an "
    "authenticated alert is never dropped."
)


def _receive(token: str | None) -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadEncodingError("body is not valid base64") from None
    else:
        body = raw.encode("utf-8", errors="surrogatepass")
    incoming = IncomingAlert(
        body=body,
        received_at=utc_now(),
        path_token=token,
        source_ip=event.request_context.http.source_ip,
        request_id=event.request_context.request_id,
        user_agent=event.headers.get("user-agent"),
        content_type=event.headers.get("content-type"),
    )
    result = ingest_alert(incoming, settings, keys, alerts)
    return _json(200, AlertStored(alert_id=result.alert_id, duplicate=result.duplicate))


@app.get(
    "/health",
    summary="Health: version and a cheap check that the alert store answers",
    tags=["operations"],
    responses=_answers(
        {
            200: (Health, "Up: alerts can be stored"),
            503: (Health, "The alert store is unreachable: webhooks would fail"),
        }
    ),
)
def health() -> Response[str]:
    """For monitors and load balancers: 503 when the alert store cannot be reached, so alerts would fail."""
    if store_reachable(settings.keys_table_name):
        return _json(200, Health(status="ok", version=settings.version, checks=HealthChecks(store="ok")))
    return _json(503, Health(status="unavailable", version=settings.version, checks=HealthChecks(store="unreachable")))


@app.get(
    "/version",
    summary="Build information stamped by `sam build`",
    tags=["operations"],
    responses=_answers({200: (VersionInfo, "Version, commit and build time")}),
)
def version() -> Response[str]:
    return _json(200, VersionInfo(version=settings.version, **build_info()))


@app.post(
    "/webhook",
    summary="Receive one TradingView alert",
    description=_WEBHOOK_DESCRIPTION,
    tags=["webhook"],
    responses=_WEBHOOK_ANSWERS,
)
def webhook() -> Response[str]:
    return _receive(token=None)


@app.post(
    "/webhook/<token>",
    summary="Receive one TradingView alert (secret in the path)",
    description=_WEBHOOK_DESCRIPTION,
    tags=["webhook"],
    responses=_WEBHOOK_ANSWERS,
)
def webhook_with_token(token: str) -> Response[str]:
    return _receive(token=token)


@app.exception_handler(RejectedRequestError)
def rejected(error: RejectedRequestError) -> Response[str]:
    status, code = REJECTIONS.get(type(error), (400, RejectionReason.BAD_REQUEST))
    metric = Metric.AUTH_FAILURES if status == 401 else Metric.REJECTED_REQUESTS
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    count_rejection(code)
    logger.warning("webhook rejected", extra={"status": status, "reason": error.reason})
    return _error(status, code, error.message)


@app.exception_handler(StoreUnavailableError)
def store_unavailable(error: StoreUnavailableError) -> Response[str]:
    """503 rather than 500: nothing was stored, and TradingView's retry (or the trader's) is safe."""
    metrics.add_metric(name=Metric.STORE_ERRORS, unit=MetricUnit.Count, value=1)
    count_rejection(RejectionReason.UNAVAILABLE)
    logger.error("store unavailable", extra={"reason": str(error)})
    return _error(503, RejectionReason.UNAVAILABLE, "alert store temporarily unavailable, retry")


@app.not_found
def not_found(_: Exception) -> Response[str]:
    metrics.add_metric(name=Metric.REJECTED_REQUESTS, unit=MetricUnit.Count, value=1)
    count_rejection(RejectionReason.NOT_FOUND)
    return _error(404, RejectionReason.NOT_FOUND, "no such route")


#: What the log group already says (which function) or a line per alert need not (the code line): about
#: 180 of the line's bytes, billed as log ingestion on every alert. The request id and correlation id stay.
UNREAD_LOG_KEYS = ["function_arn", "function_name", "function_memory_size", "location"]


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response[str]:
    logger.exception("unexpected webhook error")
    return _error(500, "internal", "internal error")


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.remove_keys(UNREAD_LOG_KEYS)  # re-added by inject_lambda_context on every invocation
    if not is_http_api_event(event):
        metrics.add_metric(name=Metric.REJECTED_REQUESTS, unit=MetricUnit.Count, value=1)
        count_rejection(RejectionReason.BAD_REQUEST)
        logger.warning("not an HTTP API event", extra={"event_type": type(event).__name__})
        refusal = _error(400, RejectionReason.BAD_REQUEST, "not an API Gateway HTTP API (payload 2.0) event")
        return {
            "statusCode": refusal.status_code,
            "headers": {"Content-Type": "application/json"},
            "body": refusal.body,
        }
    return app.resolve(event, context)
