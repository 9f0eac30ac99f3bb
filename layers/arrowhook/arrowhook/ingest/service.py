"""The webhook use case: authenticate, parse, dedupe and store one TradingView alert."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from arrowhook.core.alert_body import decode_body, parse_fields
from arrowhook.core.errors import (
    BodyTooLargeError,
    EmptyBodyError,
    SourceNotAllowedError,
    UnauthorizedError,
)
from arrowhook.core.models import KeyAuth, StoredAlert, new_id
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics
from arrowhook.core.settings import WebhookSettings
from arrowhook.core.tradingview import AlertFields, ParseIssue
from arrowhook.ingest.scrub import Scrubber

#: One message for every authentication failure, so a caller learns nothing about which keys exist.
UNAUTHORIZED_MESSAGE = "missing or invalid key"
_MAX_SECRET_CHARS = 512


@dataclass(frozen=True)
class IncomingAlert:
    """What the webhook received, already lifted out of the API Gateway event."""

    body: bytes
    received_at: datetime
    path_token: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class IngestResult:
    alert_id: str
    duplicate: bool
    parse_issues: int


class SecretLookup(Protocol):
    """A secret to what it authenticates (arrowhook.keys.resolver.KeyResolver; in memory in tests)."""

    def resolve(self, secret: str) -> KeyAuth | None: ...


class AlertWriter(Protocol):
    """Stores an alert once per (key, body) inside the window (arrowhook.alerts.store.AlertStore)."""

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]: ...


def ingest_alert(
    incoming: IncomingAlert,
    settings: WebhookSettings,
    keys: SecretLookup,
    alerts: AlertWriter,
) -> IngestResult:
    if incoming.source_ip is not None and not settings.source_ip_allowed(incoming.source_ip):
        raise SourceNotAllowedError("source address not allowed", reason=f"source ip {incoming.source_ip}")
    if len(incoming.body) > settings.max_body_bytes:
        raise BodyTooLargeError(f"body larger than {settings.max_body_bytes} bytes")
    if not incoming.body.strip():
        raise EmptyBodyError("empty body: TradingView sends the alert message as the body")

    # One straight line: decode once (the secret and every candidate to scrub come with it),
    # authenticate, parse and scrub, store.
    body = decode_body(incoming.body)
    auth = _authenticate(incoming.path_token or body.secret, keys)
    parsed = parse_fields(body)
    scrubber = Scrubber(body.secret_candidates | ({incoming.path_token} if incoming.path_token else set()))
    alert = StoredAlert(
        alert_id=new_id(int(incoming.received_at.timestamp() * 1000)),
        key_id=auth.key_id,
        strategy=auth.name,
        received_at=incoming.received_at,
        body_format="json" if body.document is not None else "text",
        fields=AlertFields.model_construct(**scrubber.value(parsed.fields.model_dump())),
        extra=scrubber.value(parsed.extra),
        payload=scrubber.text(body.text),
        parse_issues=_listed(
            [ParseIssue.model_validate(scrubber.value(issue.model_dump())) for issue in parsed.issues]
        ),
        source_ip=incoming.source_ip,
        request_id=incoming.request_id,
        # Headers are the sender's too: a secret put there is scrubbed like one in the body.
        user_agent=scrubber.text(incoming.user_agent) if incoming.user_agent is not None else None,
        content_type=scrubber.text(incoming.content_type) if incoming.content_type is not None else None,
    )
    dedupe_hash = hashlib.sha256(auth.key_id.encode() + b"\n" + incoming.body).hexdigest()
    alert_id, duplicate = alerts.put(alert, dedupe_hash, settings.dedupe_window_seconds)

    if duplicate:  # listed on the first alert by the same call that found it stored (AlertStore.put)
        metrics.add_metric(name=Metric.ALERTS_DUPLICATE, unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name=Metric.ALERTS_STORED, unit=MetricUnit.Count, value=1)
        if alert.parse_issues:
            metrics.add_metric(name=Metric.PARSE_ISSUES, unit=MetricUnit.Count, value=len(alert.parse_issues))
    logger.info(
        "alert duplicate" if duplicate else "alert stored",
        extra={
            "alert_id": alert_id,
            "key_id": auth.key_id,
            "strategy": auth.name,
            "duplicate": duplicate,
            "body_format": alert.body_format,
            "parse_issues": len(alert.parse_issues),
        },
    )
    return IngestResult(alert_id=alert_id, duplicate=duplicate, parse_issues=len(alert.parse_issues))


#: Parse issues kept on one alert: a body of thousands of unreplaced placeholders must not grow its item
#: (and its bus event) without bound; the count of the rest is kept.
MAX_LISTED_ISSUES = 20


def _listed(issues: list[ParseIssue]) -> list[ParseIssue]:
    if len(issues) <= MAX_LISTED_ISSUES:
        return issues
    rest = len(issues) - (MAX_LISTED_ISSUES - 1)
    return [*issues[: MAX_LISTED_ISSUES - 1], ParseIssue(field="body", problem=f"{rest} more issues not listed")]


def _authenticate(secret: str | None, keys: SecretLookup) -> KeyAuth:
    if not secret:
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason="no key in path or body")
    if len(secret) > _MAX_SECRET_CHARS:
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason="key too long")
    auth = keys.resolve(secret)
    if auth is None:
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason="unknown key")
    if not auth.accepts(time.time()):
        raise UnauthorizedError(UNAUTHORIZED_MESSAGE, reason=f"key {auth.key_id} is {auth.status.value} or expired")
    return auth
