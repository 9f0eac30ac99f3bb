"""Signal health, run where it costs nothing on the webhook's path: on the alerts stream (lag, lateness,
a missed alert before this one), and on a schedule (strategies gone silent, and their recovery).

Results are written on the alert (`health`), counted in metrics, and sent to the strategy's destinations
as notices (arrowhook.delivery.sending.Notice) through their lanes (arrowhook.delivery.lanes), each recorded like
a delivery, so a retried batch or a re-run never sends one twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.query import AlertFilter, AlertPages
from arrowhook.aws.dynamodb import dynamodb_client, from_item, store_errors, to_item
from arrowhook.core.models import StoredAlert, StrategyKey, iso
from arrowhook.core.signals import AlertHealth, GapBefore, SignalExpectations
from arrowhook.delivery.destinations import Destination
from arrowhook.delivery.lanes import Dispatcher
from arrowhook.delivery.sending import DeliveryRecord, Notice, NoticeKind
from arrowhook.keys.store import KeyStore
from arrowhook.signals.checks import (
    fired_at,
    gap_before,
    human,
    is_test,
    lag_ms,
    needs_sequence_check,
    trading_time,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Alerts of a strategy read at most to find the one before (a ticker traded once a month among busy
#: ones may be further back: then the check says nothing rather than guess).
NEIGHBOURS_READ = 500
#: Newest alerts of a strategy read to find its last real (non-test) one.
_LAST_ALERT_READ = 20


class HealthRecords(Protocol):
    """Where a check's verdict is written on its alert (arrowhook.alerts.store.AlertStore)."""

    def record_health(self, alert_id: str, health: AlertHealth) -> bool: ...


def late_reason(health: AlertHealth, expectations: SignalExpectations) -> str | None:
    """Why an alert is late ("75 s after it fired, max 60 s"), or None."""
    if not health.late or health.lag_ms is None or expectations.max_lag_seconds is None:
        return None
    return f"{health.lag_ms / 1000:.0f} s after it fired, max {expectations.max_lag_seconds} s"


def gap_notice(alert: StoredAlert, gap: GapBefore) -> Notice:
    ticker = alert.fields.ticker or "-"
    return Notice(
        kind=NoticeKind.GAP,
        record_key=alert.alert_id,
        key_id=alert.key_id,
        subject=f"Arrowhook: {alert.strategy} {ticker}: an alert is missing",
        template="{strategy} {ticker}: at least one alert is missing before the one received at {received_at} "
        "(it expected {expected}; the previous alert left {found}). Check the position on the exchange.",
        values={
            "strategy": alert.strategy,
            "ticker": ticker,
            "received_at": iso(alert.received_at),
            "expected": gap.expected,
            "found": gap.found,
        },
        data={
            "strategy_id": alert.key_id,
            "strategy": alert.strategy,
            "ticker": ticker,
            "alert_id": alert.alert_id,
            "received_at": iso(alert.received_at),
            **gap.model_dump(mode="json"),
        },
        occurred_at=alert.received_at,
    )


@dataclass
class StreamChecks:
    """Per stored alert: lag and lateness at once (before delivery), the sequence after the settle delay."""

    alerts: HealthRecords
    query: AlertPages
    settle: timedelta
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep

    def lag(self, alert: StoredAlert, expectations: SignalExpectations) -> AlertHealth:
        lag = lag_ms(alert)
        limit = expectations.max_lag_seconds
        late = lag is not None and limit is not None and lag > limit * 1000 and not is_test(alert)
        return AlertHealth.of_lag(alert.received_at, alert.fields.tv_timenow, late=late, checked_at=self.now())

    def sequence(self, alert: StoredAlert, expectations: SignalExpectations) -> GapBefore | None:
        """After waiting until the alert has settled (anything sent just before it has landed too)."""
        if not needs_sequence_check(alert, expectations.sequence):
            return None
        settled_at = alert.received_at + self.settle
        wait = (settled_at - self.now()).total_seconds()
        if wait > 0:
            self.sleep(wait)
        return gap_before(alert, self._neighbours(alert, settled_at), expectations.sequence, self.settle)

    def _neighbours(self, alert: StoredAlert, until: datetime) -> list[StoredAlert]:
        """The strategy's alerts of this ticker received up to `until`, newest first, until one fired
        clearly before this alert has been seen (or the read limit)."""
        found: list[StoredAlert] = []
        state: dict[str, Any] | None = None
        wanted = AlertFilter(key_id=alert.key_id, ticker=alert.fields.ticker, until=until + timedelta(seconds=1))
        read = 0
        while read < NEIGHBOURS_READ:
            # A few first: each alert is read by key (half a read unit), and the one before usually says enough.
            page, state = self.query.page(wanted, 100 if read else 10, state)
            read += len(page)
            found.extend(page)
            before = [
                other for other in found if fired_at(other) < fired_at(alert) - self.settle and not is_test(other)
            ]
            if state is None or (before and _says_enough(before)):
                break
        return found

    def record(self, alert: StoredAlert, health: AlertHealth) -> bool:
        return self.alerts.record_health(alert.alert_id, health)


def _says_enough(before: list[StoredAlert]) -> bool:
    """One earlier alert that says a position or a side settles the check."""
    return any(
        other.fields.market_position is not None or other.fields.position_size is not None or other.fields.side
        for other in before
    )


# -- silent strategies (the schedule) -----------------------------------------------------------------
@dataclass(frozen=True)
class Silence:
    """A strategy notified as silent: since its last alert (the episode's id), and when we said so."""

    key_id: str
    last_alert_at: datetime
    notified_at: datetime


class SilenceStates:
    """`SIGNAL#<key id>` items in the keys table: which strategies are currently notified as silent."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def get(self, key_id: str) -> Silence | None:
        with store_errors():
            item = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"SIGNAL#{key_id}"}}, ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        values = from_item(item)
        return Silence(
            key_id, datetime.fromisoformat(values["last_alert_at"]), datetime.fromisoformat(values["notified_at"])
        )

    def put(self, silence: Silence) -> None:
        item = {
            "pk": f"SIGNAL#{silence.key_id}",
            "last_alert_at": iso(silence.last_alert_at),
            "notified_at": iso(silence.notified_at),
        }
        with store_errors():
            self._client.put_item(TableName=self.table_name, Item=to_item(item))

    def delete(self, key_id: str) -> None:
        with store_errors():
            self._client.delete_item(TableName=self.table_name, Key={"pk": {"S": f"SIGNAL#{key_id}"}})


@dataclass(frozen=True)
class WatchResult:
    watched: int
    silent: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    notices: list[DeliveryRecord] = field(default_factory=list)


#: How far back the daily counts are read for a strategy whose alerts have all been archived.
COUNTED_DAYS_READ = 400


@dataclass
class SilenceWatch:
    keys: KeyStore
    query: AlertPages
    states: SilenceStates
    #: Notices go through the destinations' lanes, like alerts.
    deliverer: Dispatcher
    #: Read only when a notice is sent (the caller caches it for the run).
    destinations: Callable[[], Iterable[Destination]]
    #: Where archived alerts are still counted (each closed day's last alert per strategy).
    counts: DailyCounts | None = None
    _counted_last: dict[str, datetime] | None = field(default=None, init=False, repr=False)

    def run(self, now: datetime) -> WatchResult:
        """Every strategy that declared `expect_every_minutes`; costs nothing more for the others."""
        watched = [key for key in self.keys.all() if key.signals.expect_every_minutes]
        result = WatchResult(watched=len(watched))
        self._counted_last = None
        for key in watched:
            expectations = key.signals
            expected = timedelta(minutes=expectations.expect_every_minutes or 0)
            last = self._last_alert_at(key) or self._last_counted_at(key, now) or key.updated_at
            quiet = trading_time(expectations.trading_hours, last, now)
            state = self.states.get(key.id)
            if quiet > expected and state is None:
                notice = _silence_notice(key, last, now, quiet, expected)
                result.notices.extend(self.deliverer.notify(notice, self.destinations()))
                self.states.put(Silence(key.id, last, now))
                result.silent.append(key.name)
            elif state is not None and last > state.last_alert_at:
                notice = _recovery_notice(key, state, last)
                result.notices.extend(self.deliverer.notify(notice, self.destinations()))
                self.states.delete(key.id)
                result.recovered.append(key.name)
        return result

    def _last_alert_at(self, key: StrategyKey) -> datetime | None:
        newest, _ = self.query.page(AlertFilter(key_id=key.id), _LAST_ALERT_READ)
        return next((alert.received_at for alert in newest if not is_test(alert)), None)

    def _last_counted_at(self, key: StrategyKey, now: datetime) -> datetime | None:
        """A strategy with no alert left in the table (all archived) is silent since its last one, which the
        daily counts still know, not since its key last changed. Read once a run, only when needed."""
        if self.counts is None:
            return None
        if self._counted_last is None:
            today = now.date()
            days = [today - timedelta(days=back) for back in range(COUNTED_DAYS_READ)]
            latest: dict[str, datetime] = {}
            for rows in self.counts.read(days).values():
                for row in rows:
                    if row.last_at > latest.get(row.key_id, row.last_at - timedelta(seconds=1)):
                        latest[row.key_id] = row.last_at
            self._counted_last = latest
        return self._counted_last.get(key.id)


def _silence_notice(key: StrategyKey, last: datetime, now: datetime, quiet: timedelta, expected: timedelta) -> Notice:
    hours = key.signals.trading_hours
    inside = f" inside {hours.describe()}" if hours else ""
    return Notice(
        kind=NoticeKind.SILENT,
        record_key=f"SILENCE#{key.id}#{iso(last)}",
        key_id=key.id,
        subject=f"Arrowhook: {key.name}: no alert for {human(quiet)}",
        template="{strategy}: no alert for {quiet}{inside}, expected at least one every {expected} "
        "(last alert {last}). Check the TradingView alert and the strategy.",
        values={
            "strategy": key.name,
            "quiet": human(quiet),
            "inside": inside,
            "expected": human(expected),
            "last": iso(last),
        },
        data={
            "strategy_id": key.id,
            "strategy": key.name,
            "last_alert_at": iso(last),
            "quiet_seconds": int(quiet.total_seconds()),
            "expected_every_seconds": int(expected.total_seconds()),
        },
        occurred_at=now,
    )


def _recovery_notice(key: StrategyKey, state: Silence, last: datetime) -> Notice:
    return Notice(
        kind=NoticeKind.RECOVERED,
        record_key=f"SILENCE#{key.id}#{iso(state.last_alert_at)}",
        key_id=key.id,
        subject=f"Arrowhook: {key.name}: alerts again",
        template="{strategy}: alerts again (received {last}); it was silent since {since}.",
        values={"strategy": key.name, "last": iso(last), "since": iso(state.last_alert_at)},
        data={
            "strategy_id": key.id,
            "strategy": key.name,
            "last_alert_at": iso(last),
            "silent_since": iso(state.last_alert_at),
        },
        occurred_at=last,
    )
