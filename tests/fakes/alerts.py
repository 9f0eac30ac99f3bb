"""Alerts in memory, behind the protocols the signal checks and flows read through (AlertPages,
HealthRecords, AlertReader) and the webhook writes through (AlertWriter): stored alerts by id, pages in
receive order with the filters the checks use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arrowhook.alerts.query import AlertFilter
from arrowhook.core.models import RepeatedDelivery, StoredAlert, new_id
from arrowhook.core.signals import AlertHealth
from arrowhook.core.tradingview import AlertFields, ParseIssue


@dataclass
class InMemoryAlerts:
    stored: dict[str, StoredAlert] = field(default_factory=dict)
    #: Every verdict written, in order (a retried batch writes the same one again).
    health_writes: list[tuple[str, AlertHealth]] = field(default_factory=list)

    #: Dedupe hash -> the id of the alert stored for it (the window is not modelled: every test is in it).
    markers: dict[str, str] = field(default_factory=dict)

    def add(self, *alerts: StoredAlert) -> None:
        """Alerts already stored (a test's starting point)."""
        for alert in alerts:
            self.stored[alert.alert_id] = alert

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]:
        """AlertWriter: stored once per dedupe hash; a repeat answers the first alert's id, listed on it."""
        first = self.markers.get(dedupe_hash)
        if first is not None:
            stored = self.stored[first]
            repeat = RepeatedDelivery(received_at=alert.received_at, request_id=alert.request_id or "")
            self.stored[first] = stored.model_copy(update={"duplicates": [*stored.duplicates, repeat]})
            return first, True
        self.markers[dedupe_hash] = alert.alert_id
        self.stored[alert.alert_id] = alert
        return alert.alert_id, False

    def get(self, alert_id: str) -> StoredAlert | None:
        return self.stored.get(alert_id)

    def record_health(self, alert_id: str, health: AlertHealth) -> bool:
        alert = self.stored.get(alert_id)
        if alert is None:
            return False  # archived meanwhile: never recreated
        self.stored[alert_id] = alert.model_copy(update={"health": health})
        self.health_writes.append((alert_id, health))
        return True

    def page(
        self, alert_filter: AlertFilter, limit: int, state: dict[str, Any] | None = None
    ) -> tuple[list[StoredAlert], dict[str, Any] | None]:
        wanted = sorted(
            (alert for alert in self.stored.values() if _matches(alert, alert_filter)),
            key=lambda alert: (alert.received_at, alert.alert_id),
            reverse=alert_filter.newest_first,
        )
        start = int(state["offset"]) if state else 0
        end = start + limit
        return wanted[start:end], ({"offset": end} if end < len(wanted) else None)


def _matches(alert: StoredAlert, wanted: AlertFilter) -> bool:
    fields = alert.fields
    return (
        (wanted.key_id is None or alert.key_id == wanted.key_id)
        and (wanted.ticker is None or fields.ticker == wanted.ticker)
        and (wanted.side is None or fields.side == wanted.side)
        and (wanted.since is None or alert.received_at >= wanted.since)
        and (wanted.until is None or alert.received_at <= wanted.until)
    )


START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def stored_alert(
    key: Any, minutes: int, *, body_format: str = "json", payload: str = "{}", issues: list[ParseIssue] | None = None,
    **fields: Any,
) -> StoredAlert:  # fmt: skip
    """An alert of `key`'s strategy, `minutes` after START, with these parsed fields."""
    received = START + timedelta(minutes=minutes)
    return StoredAlert(
        alert_id=new_id(int(received.timestamp() * 1000)),
        key_id=key.id,
        strategy=key.name,
        received_at=received,
        body_format=body_format,
        payload=payload,
        fields=AlertFields.model_validate(fields),
        parse_issues=issues or [],
    )
