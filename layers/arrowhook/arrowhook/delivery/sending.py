"""What a delivery is and how one message is sent: the delivery record of (alert, destination), each
destination kind's HTTP request (the message escaped for it, signed for webhooks), and a destination's
answer (Retry-After and Telegram's and Discord's retry_after read from it). The lanes that decide when
to send, and what to record, are arrowhook.delivery.lanes.

A destination recorded as delivered (or given up on) is never sent to again. A crash between a send
and its record can only repeat that one message, and every repeat carries the same `webhook-id`
(signed webhooks) so receivers can drop it: a lost alert is worse than a repeat.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from arrowhook.core.fills import fill_meaning
from arrowhook.core.models import StoredAlert, iso
from arrowhook.delivery.destinations import TEST_MARK, Destination, DestinationSecret
from arrowhook.delivery.kinds.base import OutboundRequest, OutgoingMessage
from arrowhook.delivery.kinds.registry import DestinationKind

#: Kept of a destination's answer in the record: enough to read an error, never a whole page.
ANSWER_EXCERPT_CHARS = 300


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    #: Every attempt of the schedule failed, or the destination refused for good: in the failure queue.
    FAILED = "failed"
    SKIPPED = "skipped"
    #: In its lane: waiting for its turn or for its next attempt (`next_attempt_at`).
    PENDING = "pending"
    #: Reached a paused or disabled destination: kept for a redrive once it is resumed.
    HELD = "held"

    @property
    def final(self) -> bool:
        """Nothing more happens to it unless an operator redrives it."""
        return self is not DeliveryStatus.PENDING


class NoticeKind(StrEnum):
    """Messages about a strategy's signals rather than one of its alerts (arrowhook.signals.watch)."""

    GAP = "gap"
    SILENT = "silent"
    RECOVERED = "recovered"


class Notice(BaseModel):
    """One signal-health message to a strategy's destinations, recorded like an alert's delivery under
    `record_key` (the alert's id for a gap, so it shows with the alert) and sent once per destination.
    It travels whole in its destination's lane (it has no item of its own to be read back from)."""

    model_config = ConfigDict(frozen=True)

    kind: NoticeKind
    record_key: str
    key_id: str
    subject: str
    #: Our fixed text with {placeholders}; `values` are escaped for each destination's kind.
    template: str
    values: dict[str, str]
    #: What a signed webhook receives as `data` (event type `signal.<kind>`).
    data: dict[str, Any]
    occurred_at: datetime

    def text(self, destination: Destination) -> str:
        return destination.render(self.template, self.values)


class DeliveryRecord(BaseModel):
    """What happened to one alert (or notice) at one destination (shown in `GET /alerts/{id}`)."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    destination_id: str
    #: `alert`, or the notice kind (gap, silent, recovered) this record is about.
    purpose: str = "alert"
    destination_name: str
    kind: DestinationKind
    status: DeliveryStatus
    attempts: int
    #: The destination's last HTTP status (None: no answer, e.g. a timeout).
    last_status_code: int | None = None
    last_error: str | None = None
    #: Received by Arrowhook -> accepted by the destination, in milliseconds.
    latency_ms: int | None = None
    webhook_id: str
    updated_at: datetime
    #: When a pending delivery's next attempt is due (after a failed one).
    next_attempt_at: datetime | None = None

    @property
    def lane(self) -> str:
        """The destination's id (a notice's record is keyed `<destination id>#<kind>`)."""
        return self.destination_id.split("#", 1)[0]


@dataclass(frozen=True)
class Answer:
    """A destination's HTTP answer, or `error` when there was none (timeout, refused connection)."""

    status: int | None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    #: Nothing was sent and trying again cannot help (the stack is missing what the destination needs).
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        if self.permanent:
            return False
        return self.status is None or self.status == 429 or self.status >= 500

    def reason(self) -> str:
        """A status and a short reason, never the body: what the admin API's test shows (a destination's
        answer is the destination's, and an error page could tell what sits behind a URL)."""
        if self.status is None:
            return self.error or "no answer"
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = ""
        return f"HTTP {self.status} {phrase}".strip()

    def summary(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}: {self.body[:ANSWER_EXCERPT_CHARS]}".rstrip(": ")

    def retry_after(self, now: datetime) -> float | None:
        """Seconds the destination asked us to wait: `Retry-After` (seconds or a date) or Telegram's
        `parameters.retry_after` / Discord's `retry_after` in a JSON body."""
        header = next((value for name, value in self.headers.items() if name.lower() == "retry-after"), None)
        if header:
            try:
                return max(0.0, float(header))
            except ValueError:
                try:
                    return max(0.0, (parsedate_to_datetime(header) - now).total_seconds())
                except (TypeError, ValueError):
                    pass
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        if isinstance(parsed, dict):
            for holder in (parsed.get("parameters"), parsed):
                if isinstance(holder, dict) and isinstance(holder.get("retry_after"), int | float):
                    return max(0.0, float(holder["retry_after"]))
        return None


class Transport(Protocol):
    def post(self, request: OutboundRequest, timeout_seconds: float) -> Answer: ...


class EmailSender(Protocol):
    def publish(self, subject: str, message: str) -> Answer: ...


class DeliveryRecords(Protocol):
    def get(self, alert_id: str, destination_id: str) -> DeliveryRecord | None: ...

    def put(self, record: DeliveryRecord) -> None: ...


class FailureReports(Protocol):
    def report(self, record: DeliveryRecord, reason: str = "delivery failed") -> None: ...


class Secrets(Protocol):
    def secret_for(self, destination: Destination) -> DestinationSecret | None: ...


def webhook_id(alert_id: str, destination_id: str) -> str:
    """Stable per (alert, destination): a repeat after a crash carries the same id (receivers dedupe)."""
    return f"msg_{alert_id}_{destination_id}"


def alert_document(alert: StoredAlert) -> dict[str, Any]:
    """The alert as signed webhooks and the event bus carry it (schemas/alert-stored.schema.json)."""
    fields = alert.fields.model_dump(mode="json", exclude_none=True)
    return {
        "alert_id": alert.alert_id,
        "strategy_id": alert.key_id,
        "strategy": alert.strategy,
        "received_at": iso(alert.received_at),
        "body_format": alert.body_format,
        #: A bot must never trade on it: `arrowhook strategies test` and any alert sent with `"test": true`.
        "test": alert.is_test,
        **fields,
        **({"fill": str(fill)} if (fill := fill_meaning(alert)) is not None else {}),
        "extra": {name: value for name, value in alert.extra.items() if name != "test"},
        **({"health": alert.health.model_dump(mode="json", exclude_none=True)} if alert.health else {}),
        "parse_issues": [issue.model_dump(mode="json", exclude_none=True) for issue in alert.parse_issues],
    }


def build_request(
    destination: Destination,
    secret: DestinationSecret,
    alert: StoredAlert,
    *,
    message_id: str,
    now: datetime,
    telegram_api_url: str,
) -> OutboundRequest:
    """The HTTP request each kind's API expects for an alert, the message escaped for that kind."""
    text = destination.message(alert)
    data = {**alert_document(alert), "message": text}
    return build_message_request(
        destination,
        secret,
        text,
        event_type="alert.stored",
        data=data,
        message_id=message_id,
        occurred_at=alert.received_at,
        now=now,
        telegram_api_url=telegram_api_url,
    )


def build_message_request(
    destination: Destination,
    secret: DestinationSecret,
    text: str,
    *,
    event_type: str,
    data: dict[str, Any],
    message_id: str,
    occurred_at: datetime,
    now: datetime,
    telegram_api_url: str,
) -> OutboundRequest:
    """The HTTP request the destination's kind expects for a text already escaped for it."""
    return destination.kind.rules.request(
        OutgoingMessage(
            text=text,
            data=data,
            event_type=event_type,
            message_id=message_id,
            occurred_at=occurred_at,
            now=now,
            url=secret.url,
            bot_token=secret.bot_token,
            chat_id=destination.chat_id,
            signing_secrets=secret.signing_secrets(now),
            telegram_api_url=telegram_api_url,
        )
    )


@dataclass
class Sender:
    """One attempt to one destination, nothing recorded: the Deliverer's sends, and `POST /destinations/{id}/test`."""

    transport: Transport
    email: EmailSender | None = None
    telegram_api_url: str = "https://api.telegram.org"
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def send(self, alert: StoredAlert, destination: Destination, secret: DestinationSecret) -> Answer:
        if destination.kind.rules.via_email:
            if self.email is None:
                return Answer(status=None, error="no AlertEmail topic in this stack", permanent=True)
            subject = f"Arrowhook: {alert.strategy} {alert.fields.side or ''} {alert.fields.ticker or ''}".strip()
            subject = f"{TEST_MARK} {subject}" if alert.is_test else subject
            return self.email.publish(subject[:100], destination.message(alert))
        request = build_request(
            destination,
            secret,
            alert,
            message_id=webhook_id(alert.alert_id, destination.id),
            now=self.now(),
            telegram_api_url=self.telegram_api_url,
        )
        return self.transport.post(request, destination.timeout_seconds)

    def send_notice(self, notice: Notice, destination: Destination, secret: DestinationSecret) -> Answer:
        text = notice.text(destination)
        if destination.kind.rules.via_email:
            if self.email is None:
                return Answer(status=None, error="no AlertEmail topic in this stack", permanent=True)
            return self.email.publish(notice.subject[:100], text)
        request = build_message_request(
            destination,
            secret,
            text,
            event_type=f"signal.{notice.kind}",
            data={**notice.data, "message": text},
            message_id=webhook_id(notice.record_key, f"{destination.id}_{notice.kind}"),
            occurred_at=notice.occurred_at,
            now=self.now(),
            telegram_api_url=self.telegram_api_url,
        )
        return self.transport.post(request, destination.timeout_seconds)
