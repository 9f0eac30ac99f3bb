"""The console's overview counts: hours from the alerts read, closed days from their daily counts when
they exist and from the alerts otherwise; the same answer either way."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.overview import DAYS, HOURS, overview
from arrowhook.alerts.query import AlertQuery
from arrowhook.core.models import new_id
from arrowhook.core.tradingview import ParseIssue
from arrowhook_tools.local.template import LocalTemplate
from tests.unit.alerts.test_daily_counts import NOW, TODAY, _seed


def test_per_day_and_per_hour_counts_match_the_alerts_whether_days_are_counted_or_not(
    aws: Any, template: LocalTemplate
) -> None:
    table = template.physical_name("AlertsTable")
    alerts = _seed(aws, table, 300, seed=11)
    counts = DailyCounts(table, client=aws)
    query = AlertQuery(table, client=aws)
    expected_days: Counter[tuple[str, str]] = Counter((a.strategy, a.received_at.date().isoformat()) for a in alerts)
    hour_zero = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    expected_hours = Counter(a.strategy for a in alerts if a.received_at >= hour_zero)

    before = overview(query, counts, NOW)
    counts.count_day(TODAY - timedelta(days=3))  # one closed day counted, the others not
    counts.count_day(TODAY - timedelta(days=5))
    after = overview(query, counts, NOW)

    for summary in (before, after):
        assert len(summary.days) == DAYS and len(summary.hours) == HOURS
        got = {
            (strategy, day): count
            for strategy, values in summary.per_day.items()
            for day, count in zip(summary.days, values, strict=True)
            if count
        }
        assert got == dict(expected_days)
        assert {strategy: sum(values) for strategy, values in summary.per_hour.items()} == dict(expected_hours)
        assert summary.alerts_48h == sum(expected_hours.values()) and not summary.truncated


def test_the_parse_issue_rate_is_over_the_48_hours(aws: Any, template: LocalTemplate) -> None:
    from arrowhook.alerts.store import AlertStore

    table = template.physical_name("AlertsTable")
    alerts = _seed(aws, table, 40, seed=3)
    recent = [alert for alert in alerts if alert.received_at >= NOW - timedelta(hours=HOURS - 1)][:4]
    store = AlertStore(table, client=aws)
    for alert in recent:  # the same moments again, as new alerts with an issue
        flagged = alert.model_copy(
            update={
                "alert_id": new_id(int(alert.received_at.timestamp() * 1000)),
                "parse_issues": [ParseIssue(field="price", problem="x")],
            }
        )
        store.put(flagged, f"issue-{flagged.alert_id}", 0)
    summary = overview(AlertQuery(table, client=aws), DailyCounts(table, client=aws), NOW)
    assert summary.with_issues_48h == len(recent)
    assert summary.issue_rate == len(recent) / summary.alerts_48h


def test_the_duplicate_rate_counts_the_repeats_listed_on_the_48_hours_alerts(aws: Any, template: LocalTemplate) -> None:
    from arrowhook.alerts.store import AlertStore
    from arrowhook.core.models import iso

    table = template.physical_name("AlertsTable")
    alerts = _seed(aws, table, 40, seed=5)
    recent = [alert for alert in alerts if alert.received_at >= NOW - timedelta(hours=HOURS - 1)]
    old = [alert for alert in alerts if alert.received_at < NOW - timedelta(hours=HOURS)]
    assert len(recent) >= 3 and len(old) >= 2
    store = AlertStore(table, client=aws)
    for number, alert in enumerate([*recent[:3], recent[0], *old[:2]]):  # two outside the window
        assert store.record_duplicate(alert.alert_id, iso(alert.received_at), f"request-{number}")
    summary = overview(AlertQuery(table, client=aws), DailyCounts(table, client=aws), NOW)
    assert summary.duplicates_48h == 4
    assert summary.duplicate_rate == 4 / (summary.alerts_48h + 4)
    assert summary.rejections_48h is None, "no CloudWatch reader given"


def test_rejections_by_reason_are_read_back_from_the_webhooks_metric(aws: Any) -> None:
    import boto3

    from arrowhook.alerts.rejection_metrics import RejectionCounts
    from arrowhook.core.observability import Metric
    from arrowhook.core.rejections import RejectionReason

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sent = {"unauthorized": 3, "not_found": 2}
    for reason, times in sent.items():
        for minutes in range(times):
            cloudwatch.put_metric_data(
                Namespace="Arrowhook",
                MetricData=[
                    {
                        "MetricName": Metric.WEBHOOK_REJECTIONS.value,
                        "Dimensions": [{"Name": "service", "Value": "arrowhook"}, {"Name": "reason", "Value": reason}],
                        "Values": [1.0],
                        "Unit": "Count",
                        "Timestamp": NOW - timedelta(hours=1, minutes=minutes),
                    }
                ],
            )
    cloudwatch.put_metric_data(  # another service's metric of the same name is not ours
        Namespace="Arrowhook",
        MetricData=[
            {
                "MetricName": Metric.WEBHOOK_REJECTIONS.value,
                "Dimensions": [{"Name": "service", "Value": "other"}, {"Name": "reason", "Value": "unauthorized"}],
                "Values": [5.0],
                "Timestamp": NOW - timedelta(hours=1),
            }
        ],
    )
    counts = RejectionCounts("Arrowhook", "arrowhook", client=cloudwatch).between(NOW - timedelta(hours=48), NOW)
    assert counts is not None and set(counts) == set(RejectionReason)
    assert {reason.value: count for reason, count in counts.items() if count} == sent
    earlier = RejectionCounts("Arrowhook", "arrowhook", client=cloudwatch).between(
        NOW - timedelta(hours=96), NOW - timedelta(hours=48)
    )
    assert earlier is not None and not any(earlier.values())


def test_rejections_are_unavailable_rather_than_an_error_when_cloudwatch_refuses() -> None:
    from botocore.exceptions import ClientError

    from arrowhook.alerts.rejection_metrics import RejectionCounts

    class Refusing:
        def get_metric_data(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")

    assert RejectionCounts("Arrowhook", "arrowhook", client=Refusing()).between(NOW - timedelta(hours=1), NOW) is None
