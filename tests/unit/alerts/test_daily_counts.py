"""Daily counts: stats over whole closed days read one item per day and give the same answer as reading
every alert; days not counted yet, today and partial edge days are read alert by alert."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.query import AlertFilter, AlertQuery
from arrowhook.alerts.stats import alert_stats
from arrowhook.alerts.store import AlertStore
from arrowhook.core.models import StoredAlert, new_id
from arrowhook.core.tradingview import AlertFields, Side
from arrowhook_tools.local.template import LocalTemplate

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
TODAY = NOW.date()


class CountingClient:
    """The DynamoDB client, counting the calls that read alerts one by one (Query) and counts (BatchGetItem)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        self.calls[name] = self.calls.get(name, 0) + 1
        return getattr(self._client, name)


def _seed(aws: Any, table: str, count: int, seed: int) -> list[StoredAlert]:
    """`count` alerts at random moments over the last 6 days (today included), 3 strategies, 3 tickers."""
    chooser = random.Random(seed)
    store = AlertStore(table, client=aws)
    alerts = []
    for number in range(count):
        received = NOW - timedelta(seconds=chooser.randrange(6 * 86_400))
        strategy = chooser.randrange(3)
        alert = StoredAlert(
            alert_id=new_id(int(received.timestamp() * 1000)),
            key_id=f"K{strategy}",
            strategy=("alpha", "beta", "gamma")[strategy],
            received_at=received,
            body_format="json",
            payload="{}",
            fields=AlertFields(
                ticker=chooser.choice(["BTCUSDT", "ETHUSD", None]),
                side=chooser.choice([*Side, None]),
                price=Decimal(1),
            ),
        )
        store.put(alert, f"seed-{seed}-{number}", 0)
        alerts.append(alert)
    return alerts


FILTERS = [
    AlertFilter(since=NOW - timedelta(days=5, hours=7), now=NOW),
    AlertFilter(since=datetime(2026, 11, 19, tzinfo=UTC), until=datetime(2026, 11, 21, 23, 59, 59, 999000, tzinfo=UTC)),
    AlertFilter(key_id="K1", since=NOW - timedelta(days=4), now=NOW),
    AlertFilter(ticker="ETHUSD", side="sell", since=NOW - timedelta(days=6), until=NOW - timedelta(hours=30)),
    AlertFilter(side="buy", since=datetime(2026, 11, 20, 12, tzinfo=UTC), until=datetime(2026, 11, 22, 12, tzinfo=UTC)),
    AlertFilter(since=NOW - timedelta(hours=3), now=NOW),
]


@pytest.mark.parametrize("seed", [1, 2])
def test_stats_from_daily_counts_equal_stats_from_every_alert(aws: Any, template: LocalTemplate, seed: int) -> None:
    table = template.physical_name("AlertsTable")
    _seed(aws, table, 400, seed)
    counts = DailyCounts(table, client=aws)
    counted = counts.count_closed_days(TODAY, not_before=TODAY - timedelta(days=10))
    assert counted == [TODAY - timedelta(days=days) for days in range(10, 0, -1)], "closed days only, oldest first"
    for alert_filter in FILTERS:
        exact = alert_stats(AlertQuery(table, client=aws), alert_filter)
        assert alert_stats(AlertQuery(table, client=aws), alert_filter, counts) == exact, alert_filter


def test_whole_days_cost_one_item_each_whatever_they_hold(aws: Any, template: LocalTemplate) -> None:
    table = template.physical_name("AlertsTable")
    _seed(aws, table, 300, 3)
    DailyCounts(table, client=aws).count_closed_days(TODAY, not_before=TODAY - timedelta(days=10))
    client = CountingClient(aws)
    whole_days = AlertFilter(
        since=datetime(2026, 11, 18, tzinfo=UTC), until=datetime(2026, 11, 22, 23, 59, 59, 999000, tzinfo=UTC)
    )
    stats = alert_stats(AlertQuery(table, client=client), whole_days, DailyCounts(table, client=client))  # type: ignore[arg-type]
    assert stats.total > 150
    assert client.calls == {"batch_get_item": 1}, "five whole closed days: one read, no alert read one by one"


def test_counts_are_written_once_per_day_and_the_next_run_only_counts_new_days(
    aws: Any, template: LocalTemplate
) -> None:
    table = template.physical_name("AlertsTable")
    _seed(aws, table, 50, 4)
    counts = DailyCounts(table, client=aws)
    assert len(counts.count_closed_days(TODAY, not_before=TODAY - timedelta(days=3))) == 3
    assert counts.count_closed_days(TODAY, not_before=TODAY - timedelta(days=3)) == [], "nothing new the same day"
    tomorrow = TODAY + timedelta(days=1)
    assert counts.count_closed_days(tomorrow, not_before=TODAY - timedelta(days=2)) == [TODAY]
    assert counts.count_closed_days(tomorrow + timedelta(days=5), not_before=tomorrow, max_days=2) == [
        tomorrow,
        tomorrow + timedelta(days=1),
    ], "bounded per run; the next run continues"


def test_a_counted_day_still_counts_its_alerts_once_archived(aws: Any, template: LocalTemplate) -> None:
    """The archive deletes alerts from DynamoDB; the day's count, taken before, keeps them in stats."""
    table = template.physical_name("AlertsTable")
    alerts = _seed(aws, table, 60, 5)
    counts = DailyCounts(table, client=aws)
    counts.count_closed_days(TODAY, not_before=TODAY - timedelta(days=10))
    day = TODAY - timedelta(days=2)
    on_day = [alert for alert in alerts if alert.received_at.date() == day]
    for alert in on_day:
        aws.delete_item(TableName=table, Key={"pk": {"S": f"ALERT#{alert.alert_id}"}})
    whole_day = AlertFilter(
        since=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        until=datetime.combine(day, datetime.max.time(), tzinfo=UTC),
    )
    assert alert_stats(AlertQuery(table, client=aws), whole_day, counts).total == len(on_day) > 0
    assert alert_stats(AlertQuery(table, client=aws), whole_day).total == 0


def test_count_items_never_appear_in_alert_queries(aws: Any, template: LocalTemplate) -> None:
    table = template.physical_name("AlertsTable")
    alerts = _seed(aws, table, 40, 6)
    DailyCounts(table, client=aws).count_closed_days(TODAY, not_before=TODAY - timedelta(days=10))
    query = AlertQuery(table, client=aws)
    found, _ = query.page(AlertFilter(since=NOW - timedelta(days=7), until=NOW), 1000)
    assert sorted(alert.alert_id for alert in found) == sorted(alert.alert_id for alert in alerts)
