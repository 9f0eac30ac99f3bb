"""Delivery lanes: one ordered lane per destination, so a slow, rate-limited or dead destination delays only
itself, and nothing is given up silently.

The stream consumer (Dispatcher) only records and enqueues: for each new alert and each destination it
applies to, a `pending` delivery record first (so nothing can vanish without a record), then a message
on the delivery queue, an SQS FIFO queue whose message group is the destination: its messages leave in
order, one at a time, and a message waiting for its retry holds only its own lane. The sender (Courier)
takes one message, makes one attempt, and records it: delivered; retried later on the schedule (the
message is hidden until then, the lane with it); or failed for good, reported to the failure queue with
the alert and the destination named. A destination that answers 410 Gone is disabled, one that keeps
refusing (401, 403, 404) is paused: what reaches a disabled or paused destination is held (recorded and
reported) until the operator resumes it and redrives its backlog. Every attempt of one (alert,
destination) carries the same message id (`webhook-id`), a redrive too, so a receiver that deduplicates
stays safe.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from arrowhook.core.models import StoredAlert, ulid_time
from arrowhook.core.observability import Metric, MetricUnit, logger, metrics
from arrowhook.delivery.destinations import Destination
from arrowhook.delivery.sending import (
    Answer,
    DeliveryRecord,
    DeliveryRecords,
    DeliveryStatus,
    FailureReports,
    Notice,
    Secrets,
    Sender,
    webhook_id,
)


@dataclass(frozen=True)
class RetrySchedule:
    """When to try again after a failed attempt: Svix's schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h,
    eight attempts over about 27 hours), each delay jittered by up to a fifth so that lanes recovering
    together do not retry in lockstep, and never sooner than a destination's Retry-After. SQS hides a
    message for at most 12 hours: no delay is longer."""

    delays: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    jitter: float = 0.2
    longest: float = 43_200

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    def delay(self, attempts_made: int, asked: float | None = None, chooser: random.Random | None = None) -> float:
        """The pause after `attempts_made` attempts (1 after the first), honouring a Retry-After."""
        base = self.delays[min(max(attempts_made, 1), len(self.delays)) - 1]
        spread = (chooser or random).uniform(1 - self.jitter, 1 + self.jitter)  # nosec B311
        return min(self.longest, max(base * spread, asked or 0.0))


class LaneMessage(BaseModel):
    """One (alert or notice, destination) on the delivery queue; its group is the destination."""

    model_config = ConfigDict(frozen=True)

    record_key: str
    destination_id: str
    purpose: str = "alert"
    notice: Notice | None = None

    @property
    def record_id(self) -> str:
        """The delivery record's second key: the destination, or destination#kind for a notice."""
        return self.destination_id if self.purpose == "alert" else f"{self.destination_id}#{self.purpose}"

    @property
    def message_id(self) -> str:
        """Standard Webhooks' `webhook-id`: the same on every attempt and every redrive."""
        suffix = "" if self.purpose == "alert" else f"_{self.purpose}"
        return webhook_id(self.record_key, self.destination_id + suffix)


class Lanes(Protocol):
    """The delivery queue: messages of one destination leave in the order they were sent."""

    def send(self, messages: list[LaneMessage], *, redrive: bool = False) -> None:
        """Enqueued once per message id (a redrive: once more)."""
        ...


@dataclass
class Dispatcher:
    """The stream's side: records, then enqueues. Nothing is sent from here."""

    records: DeliveryRecords
    lanes: Lanes
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def dispatch(
        self, alert: StoredAlert, destinations: Iterable[Destination], *, late: str | None = None
    ) -> list[DeliveryRecord]:
        """A record per destination that applies to the alert's strategy (`late` skips those set to skip
        late alerts), and the pending ones enqueued in their lanes."""
        return self._dispatch(
            alert.alert_id,
            "alert",
            None,
            [destination for destination in destinations if destination.applies_to(alert.key_id)],
            late=late,
        )

    def notify(self, notice: Notice, destinations: Iterable[Destination]) -> list[DeliveryRecord]:
        """A notice to each destination of its strategy, through the same lanes (after the alerts before it)."""
        applying = [destination for destination in destinations if destination.applies_to(notice.key_id)]
        return self._dispatch(notice.record_key, str(notice.kind), notice, applying, late=None)

    def redrive(self, records: Iterable[DeliveryRecord]) -> list[DeliveryRecord]:
        """Failed or held deliveries back into their lanes, pending again, with the same message ids (a
        redrive of a notice is not possible: its content is not kept; those are left as they are)."""
        again: list[DeliveryRecord] = []
        messages: list[LaneMessage] = []
        for record in records:
            if record.purpose != "alert" or record.status not in (DeliveryStatus.FAILED, DeliveryStatus.HELD):
                continue
            pending = record.model_copy(
                update={"status": DeliveryStatus.PENDING, "next_attempt_at": None, "updated_at": self.now()}
            )
            self.records.put(pending)
            again.append(pending)
            messages.append(LaneMessage(record_key=record.alert_id, destination_id=record.lane))
        if messages:
            self.lanes.send(messages, redrive=True)
        return again

    def _dispatch(
        self,
        record_key: str,
        purpose: str,
        notice: Notice | None,
        destinations: list[Destination],
        *,
        late: str | None,
    ) -> list[DeliveryRecord]:
        results: list[DeliveryRecord] = []
        messages: list[LaneMessage] = []
        for destination in destinations:
            message = LaneMessage(record_key=record_key, destination_id=destination.id, purpose=purpose, notice=notice)
            earlier = self.records.get(record_key, message.record_id)
            if earlier is not None and earlier.status.final:
                results.append(earlier)  # the stream delivered this alert again: done already
                continue
            skip = f"late: {late}" if late and destination.skip_late else None
            record = DeliveryRecord(
                alert_id=record_key,
                destination_id=message.record_id,
                purpose=purpose,
                destination_name=destination.name,
                kind=destination.kind,
                status=DeliveryStatus.SKIPPED if skip else DeliveryStatus.PENDING,
                attempts=earlier.attempts if earlier else 0,
                last_error=skip,
                webhook_id=message.message_id,
                updated_at=self.now(),
            )
            self.records.put(record)  # first: a message never exists without its record
            results.append(record)
            if not skip:
                messages.append(message)
        if messages:
            self.lanes.send(messages)  # deduplicated by message id: a re-run of the batch adds nothing
        return results


class Destinations(Protocol):
    """What the sender reads and changes of a destination."""

    def find(self, destination_id: str) -> Destination | None: ...

    def refused(self, destination_id: str) -> int:
        """Count one more refusal in a row (401, 403, 404); how many now."""
        ...

    def accepted(self, destination_id: str) -> None:
        """The destination answered: its run of refusals is over."""
        ...

    def pause(self, destination_id: str, reason: str) -> None: ...


class Alerts(Protocol):
    def get(self, alert_id: str) -> StoredAlert | None: ...


@dataclass(frozen=True)
class Outcome:
    """What becomes of a lane's message: done (deleted), or tried again after `retry_in` seconds."""

    record: DeliveryRecord | None
    retry_in: float | None = None

    @property
    def done(self) -> bool:
        return self.retry_in is None


#: Answers that say the URL or its credentials are wrong: retried, but a run of them pauses the lane.
REFUSALS = frozenset({401, 403, 404})
GONE = 410


@dataclass
class Courier:
    """The sender's side: one attempt per message, its record written, its lane kept in order."""

    records: DeliveryRecords
    destinations: Destinations
    secrets: Secrets
    alerts: Alerts
    sender: Sender
    failures: FailureReports
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    #: Refusals in a row (401, 403, 404) that pause a destination.
    pause_after: int = 5
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    chooser: random.Random | None = None

    def handle(self, message: LaneMessage) -> Outcome:
        """One message: an outage of ours (DynamoDB, SSM) raises, and the caller retries it on the schedule."""
        earlier = self.records.get(message.record_key, message.record_id)
        if earlier is not None and earlier.status.final:
            return Outcome(earlier)  # delivered, failed, skipped or held already (a duplicate message)
        ready = self._ready(message, earlier)
        if isinstance(ready, Outcome):
            return ready
        destination, secret = ready
        attempts = earlier.attempts if earlier else 0
        answer = self._attempt(message, destination, secret)
        if answer is None:  # the alert is no longer in DynamoDB (archived while its lane was held)
            return self._fail(message, destination, attempts, None, "the alert was archived before it was delivered")
        return self._judge(message, destination, attempts + 1, answer)

    def _ready(self, message: LaneMessage, earlier: DeliveryRecord | None) -> Outcome | tuple[Destination, Any]:
        """The destination and its secret, or what becomes of a message with nowhere to go."""
        destination = self.destinations.find(message.destination_id)
        attempts = earlier.attempts if earlier else 0
        if destination is None:  # deleted while the message waited in its lane
            if earlier is None:
                return Outcome(None)
            skipped = earlier.model_copy(
                update={"status": DeliveryStatus.SKIPPED, "last_error": "destination deleted", "updated_at": self.now()}
            )
            self.records.put(skipped)
            return Outcome(skipped)
        if not destination.enabled:
            return self._hold(message, destination, attempts, destination.paused_reason or "destination disabled")
        secret = self.secrets.secret_for(destination)
        if secret is None:  # its secret went with it: deleted a moment ago
            skipped_record = self._put(
                message, destination, DeliveryStatus.SKIPPED, attempts, error="destination deleted"
            )
            return Outcome(skipped_record)
        return destination, secret

    def _judge(self, message: LaneMessage, destination: Destination, attempts: int, answer: Answer) -> Outcome:
        """Recorded as the answer says: delivered, tried again on the schedule, failed, or held."""
        if answer.ok:
            if destination.refusals:
                self.destinations.accepted(destination.id)
            return Outcome(self._put(message, destination, DeliveryStatus.DELIVERED, attempts, answer))
        if answer.status == GONE:
            self.destinations.pause(destination.id, "disabled: it answered 410 Gone")
            return self._fail(message, destination, attempts, answer, reason="destination gone: disabled")
        if answer.status in REFUSALS and self.destinations.refused(destination.id) >= self.pause_after:
            reason = f"paused after {self.pause_after} refusals in a row (last: HTTP {answer.status})"
            self.destinations.pause(destination.id, reason)
            return self._hold(message, destination, attempts, reason, answer, notice=f"destination {reason}")
        retryable = answer.retryable or answer.status in REFUSALS
        if not retryable or attempts >= self.schedule.attempts:
            return self._fail(message, destination, attempts, answer)
        delay = self.schedule.delay(attempts, answer.retry_after(self.now()), self.chooser)
        record = self._put(message, destination, DeliveryStatus.PENDING, attempts, answer, retry_in=delay)
        return Outcome(record, retry_in=delay)

    def _attempt(self, message: LaneMessage, destination: Destination, secret: Any) -> Answer | None:
        if message.notice is not None:
            return self.sender.send_notice(message.notice, destination, secret)
        alert = self.alerts.get(message.record_key)
        return None if alert is None else self.sender.send(alert, destination, secret)

    def _hold(
        self,
        message: LaneMessage,
        destination: Destination,
        attempts: int,
        reason: str,
        answer: Answer | None = None,
        *,
        notice: str = "delivery held: destination paused",
    ) -> Outcome:
        """Recorded and reported (the failure queue's message is the operator's notice), for a redrive once
        the destination is resumed; the lane moves on."""
        record = self._put(message, destination, DeliveryStatus.HELD, attempts, answer, error=f"held: {reason}")
        self.failures.report(record, notice)
        return Outcome(record)

    def _fail(
        self,
        message: LaneMessage,
        destination: Destination,
        attempts: int,
        answer: Answer | None,
        error: str | None = None,
        *,
        reason: str = "delivery failed",
    ) -> Outcome:
        record = self._put(message, destination, DeliveryStatus.FAILED, attempts, answer, error=error)
        self.failures.report(record, reason)  # the failure queue names the alert and the destination
        return Outcome(record)

    def _put(
        self,
        message: LaneMessage,
        destination: Destination,
        status: DeliveryStatus,
        attempts: int,
        answer: Answer | None = None,
        *,
        error: str | None = None,
        retry_in: float | None = None,
    ) -> DeliveryRecord:
        now = self.now()
        since = self._since(message)
        latency = int((now - since).total_seconds() * 1000) if status is DeliveryStatus.DELIVERED and since else None
        record = DeliveryRecord(
            alert_id=message.record_key,
            destination_id=message.record_id,
            purpose=message.purpose,
            destination_name=destination.name,
            kind=destination.kind,
            status=status,
            attempts=attempts,
            last_status_code=answer.status if answer else None,
            last_error=error or (None if answer is None or answer.ok else answer.summary()),
            latency_ms=max(0, latency) if latency is not None else None,
            webhook_id=message.message_id,
            updated_at=now,
            next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
        )
        self.records.put(record)
        return record

    def _since(self, message: LaneMessage) -> datetime | None:
        """Latency runs from the alert's arrival (a notice's moment): the ULID of an alert id carries it."""
        if message.notice is not None:
            return message.notice.occurred_at
        return ulid_time(message.record_key)


def count_delivery(result: DeliveryRecord) -> None:
    """One log line and the metrics of what became of a delivery (docs/metrics.md)."""
    logger.info(
        "delivery",
        extra={
            "alert_id": result.alert_id,
            "destination_id": result.destination_id,
            "kind": result.kind,
            "status": result.status,
            "attempts": result.attempts,
            "last_status_code": result.last_status_code,
        },
    )
    if result.status is DeliveryStatus.DELIVERED:
        metrics.add_metric(name=Metric.DELIVERIES_SUCCEEDED, unit=MetricUnit.Count, value=1)
        if result.latency_ms is not None:
            metrics.add_metric(name=Metric.DELIVERY_LATENCY, unit=MetricUnit.Milliseconds, value=result.latency_ms)
    elif result.status in (DeliveryStatus.FAILED, DeliveryStatus.HELD):
        metrics.add_metric(name=Metric.DELIVERIES_FAILED, unit=MetricUnit.Count, value=1)
    elif result.status is DeliveryStatus.PENDING:  # a retry scheduled
        metrics.add_metric(name=Metric.DELIVERIES_PENDING, unit=MetricUnit.Count, value=1)
        metrics.add_metric(name=Metric.DELIVERY_RETRIES, unit=MetricUnit.Count, value=1)
