"""Delivery in memory: records, lanes, destinations, secrets, alerts, transport and failure queue in one
object (`DeliveryFakes`), and builders for an alert and a webhook destination. Shared by the lanes', the
flows' and the admin's unit tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arrowhook.core.errors import KeyConflictError
from arrowhook.core.models import StoredAlert, new_id
from arrowhook.core.tradingview import AlertFields
from arrowhook.delivery.destinations import Destination, DestinationNotFoundError, DestinationSecret
from arrowhook.delivery.kinds.base import OutboundRequest
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.delivery.lanes import Courier, Dispatcher, LaneMessage
from arrowhook.delivery.sending import Answer, DeliveryRecord, Sender

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = DestinationSecret(url="https://hooks.example/tv", signing_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def alert(seconds: float = 0, key_id: str = "K1") -> StoredAlert:
    received = NOW - timedelta(seconds=2) + timedelta(seconds=seconds)
    return StoredAlert(
        alert_id=new_id(int(received.timestamp() * 1000)),
        key_id=key_id,
        strategy="ema-cross",
        received_at=received,
        body_format="json",
        fields=AlertFields.model_validate({"ticker": "BTCUSDT", "side": "buy", "price": "1"}),
        payload="{}",
    )


def destination(number: int = 1, **values: Any) -> Destination:
    return Destination.model_validate(
        {
            "id": f"D{number}",
            "name": f"hook-{number}",
            "kind": DestinationKind.WEBHOOK,
            "template": DestinationKind.WEBHOOK.rules.default_template,
            "created_at": NOW,
            "updated_at": NOW,
            **values,
        }
    )


@dataclass
class DeliveryFakes:
    """Records, lanes, destinations, secrets, alerts, transport and failure queue in memory."""

    answers: list[Answer] = field(default_factory=list)
    sent: list[OutboundRequest] = field(default_factory=list)
    records: dict[tuple[str, str], DeliveryRecord] = field(default_factory=dict)
    enqueued: list[tuple[LaneMessage, bool]] = field(default_factory=list)
    reported: list[tuple[DeliveryRecord, str]] = field(default_factory=list)
    destinations: dict[str, Destination] = field(default_factory=lambda: {"D1": destination()})
    alerts: dict[str, StoredAlert] = field(default_factory=dict)
    secret: DestinationSecret | None = SECRET
    refusal_counts: dict[str, int] = field(default_factory=dict)

    # Transport
    def post(self, request: OutboundRequest, timeout_seconds: float) -> Answer:
        self.sent.append(request)
        return self.answers.pop(0) if self.answers else Answer(200)

    # DeliveryRecords
    def get(self, alert_id: str, destination_id: str) -> DeliveryRecord | Any:
        if destination_id == "__alert__":
            return self.alerts.get(alert_id)
        return self.records.get((alert_id, destination_id))

    def put(self, record: DeliveryRecord) -> None:
        self.records[(record.alert_id, record.destination_id)] = record

    # Lanes
    def send(self, messages: list[LaneMessage], *, redrive: bool = False) -> None:
        self.enqueued.extend((message, redrive) for message in messages)

    # FailureReports
    def report(self, record: DeliveryRecord, reason: str = "delivery failed") -> None:
        self.reported.append((record, reason))

    # Secrets
    def secret_for(self, _: Destination) -> DestinationSecret | None:
        return self.secret

    # Destinations
    def find(self, destination_id: str) -> Destination | None:
        return self.destinations.get(destination_id)

    def refused(self, destination_id: str) -> int:
        self.refusal_counts[destination_id] = self.refusal_counts.get(destination_id, 0) + 1
        self._update(destination_id, refusals=self.refusal_counts[destination_id])
        return self.refusal_counts[destination_id]

    def accepted(self, destination_id: str) -> None:
        self.refusal_counts.pop(destination_id, None)
        self._update(destination_id, refusals=0)

    def _update(self, destination_id: str, **values: Any) -> None:
        self.destinations[destination_id] = self.destinations[destination_id].model_copy(update=values)

    def pause(self, destination_id: str, reason: str) -> None:
        self.destinations[destination_id] = self.destinations[destination_id].model_copy(
            update={"enabled": False, "paused_reason": reason}
        )

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(records=self, lanes=self, now=lambda: NOW)

    def courier(self, **values: Any) -> Courier:
        fakes = self

        class Alerts:
            def get(self, alert_id: str) -> StoredAlert | None:
                return fakes.alerts.get(alert_id)

        return Courier(
            records=self,
            destinations=self,
            secrets=self,
            alerts=Alerts(),
            sender=Sender(transport=self, now=lambda: NOW),
            failures=self,
            now=lambda: NOW,
            chooser=random.Random(3),
            **values,
        )

    def record(self, alert_id: str, destination_id: str = "D1") -> DeliveryRecord:
        return self.records[(alert_id, destination_id)]


@dataclass
class InMemoryDestinations:
    """Destinations with versions in memory (delivery.admin.DestinationRecords): a replace over an older
    version is a conflict, as the DynamoDB condition makes it."""

    stored: dict[str, tuple[Destination, int]] = field(default_factory=dict)
    #: Replaces to lose before one lands (a concurrent change each time).
    conflicts: int = 0

    def create(self, destination: Destination) -> None:
        self.stored[destination.id] = (destination, 1)

    def get(self, destination_id: str) -> tuple[Destination, int]:
        if destination_id not in self.stored:
            raise DestinationNotFoundError(f"no destination {destination_id}")
        return self.stored[destination_id]

    def replace(self, destination: Destination, read_version: int) -> None:
        current, version = self.get(destination.id)
        if self.conflicts:
            self.conflicts -= 1
            self.stored[destination.id] = (current, version + 1)  # someone else's change landed first
        if self.stored[destination.id][1] != read_version:
            raise KeyConflictError("the destination changed meanwhile")
        self.stored[destination.id] = (destination, read_version + 1)

    def all(self) -> list[Destination]:
        return sorted((destination for destination, _ in self.stored.values()), key=lambda found: found.name)

    def delete(self, destination_id: str) -> None:
        self.get(destination_id)
        del self.stored[destination_id]


@dataclass
class InMemoryDestinationSecrets:
    """delivery.admin.SecretKeeper: what SSM keeps encrypted, in a dict."""

    kept: dict[str, DestinationSecret] = field(default_factory=dict)

    def put(self, destination_id: str, secret: DestinationSecret) -> None:
        self.kept[destination_id] = secret

    def secret_for(self, destination: Destination) -> DestinationSecret | None:
        return self.kept.get(destination.id)

    def delete(self, destination_id: str) -> None:
        self.kept.pop(destination_id, None)
