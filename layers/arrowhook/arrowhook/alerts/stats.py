"""Counts over a time range: whole closed days from their daily counts, the rest from the alerts.

A 90-day range then reads about 90 small count items (one BatchGetItem per 100 days) plus the alerts
of its two partial edge days and of today, instead of every alert (arrowhook.alerts.daily_counts keeps the
counts, off the webhook's path). Days without counts (not counted yet, or before counting existed)
are read alert by alert, as before, so the answer is the same either way. Whole days keep counting
alerts after the archive has moved them to S3; a partial edge day counts what DynamoDB still holds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from arrowhook.alerts.daily_counts import CountRow, DailyCounts
from arrowhook.alerts.query import AlertFilter, AlertQuery
from arrowhook.core.models import StoredAlert, utc_now

_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class AlertStats:
    total: int
    by_strategy: dict[str, int]
    by_ticker: dict[str, int]
    by_side: dict[str, int]
    first_seen: datetime | None
    last_seen: datetime | None
    #: True when the range held more alerts than one request reads one by one.
    truncated: bool


@dataclass
class _Tally:
    total: int = 0
    alerts_read: int = 0
    strategies: Counter[str] = field(default_factory=Counter)
    tickers: Counter[str] = field(default_factory=Counter)
    sides: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, row: CountRow) -> None:
        self.total += row.count
        self.strategies[row.strategy] += row.count
        self.tickers[row.ticker or "(none)"] += row.count
        self.sides[row.side or "(none)"] += row.count
        self.first = row.first_at if self.first is None or row.first_at < self.first else self.first
        self.last = row.last_at if self.last is None or row.last_at > self.last else self.last

    def add_alert(self, alert: StoredAlert) -> None:
        side = str(alert.fields.side.value) if alert.fields.side else None
        received = alert.received_at
        self.add(CountRow(alert.key_id, alert.strategy, alert.fields.ticker, side, 1, received, received))
        self.alerts_read += 1


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _whole_closed_days(since: datetime, until: datetime, today: date) -> list[date]:
    days = []
    day = since.date()
    while day <= until.date() and day < today:
        if _day_start(day) >= since and _day_start(day + timedelta(days=1)) - _MILLISECOND <= until:
            days.append(day)
        day += timedelta(days=1)
    return days


def _uncovered(since: datetime, until: datetime, counted: list[date]) -> list[tuple[datetime, datetime]]:
    """The parts of [since, until] (millisecond precision, both ends included) outside the counted days."""
    gaps = []
    cursor = since
    for day in sorted(counted):
        if _day_start(day) > cursor:
            gaps.append((cursor, _day_start(day) - _MILLISECOND))
        cursor = _day_start(day + timedelta(days=1))
    if cursor <= until:
        gaps.append((cursor, until))
    return gaps


def alert_stats(
    query: AlertQuery, alert_filter: AlertFilter, counts: DailyCounts | None = None, max_alerts: int = 20_000
) -> AlertStats:
    """Counts by strategy, ticker and side. Bounded: at most `max_alerts` alerts are read one by one
    (`truncated` says when it stopped early); counted days cost one item each, whatever they hold."""
    tally = _Tally()
    ranges: list[tuple[datetime | None, datetime | None]] = [(alert_filter.since, alert_filter.until)]
    if counts is not None and alert_filter.since is not None:
        now = alert_filter.now or utc_now()
        until = alert_filter.until or now
        counted = counts.read(_whole_closed_days(alert_filter.since, until, now.date()))
        for rows in counted.values():
            for row in rows:
                if row.matches(alert_filter.key_id, alert_filter.ticker, alert_filter.side):
                    tally.add(row)
        ranges = list(_uncovered(alert_filter.since, until, list(counted)))
    truncated = False
    for range_since, range_until in ranges:
        state = None
        while tally.alerts_read < max_alerts:
            alerts, state = query.page(replace(alert_filter, since=range_since, until=range_until), 500, state)
            for alert in alerts:
                tally.add_alert(alert)
            if state is None:
                break
        truncated = truncated or state is not None
    return AlertStats(
        total=tally.total,
        by_strategy=dict(tally.strategies),
        by_ticker=dict(tally.tickers),
        by_side=dict(tally.sides),
        first_seen=tally.first,
        last_seen=tally.last,
        truncated=truncated,
    )
