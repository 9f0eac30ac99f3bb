"""The console's overview: alerts per hour (48 hours) and per day (30 days) by strategy, the parse-issue
and duplicate rates, late alerts and missed-alert gaps per strategy, and the webhook's refusals by
reason (from CloudWatch, arrowhook.alerts.rejection_metrics).

Closed days come from their daily counts (arrowhook.alerts.daily_counts, one small item per day); days not
counted yet and the last 48 hours are read alert by alert, at most READ_LIMIT (`truncated` says so).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arrowhook.alerts.daily_counts import DailyCounts
from arrowhook.alerts.query import AlertFilter, AlertQuery
from arrowhook.alerts.rejection_metrics import RejectionCounts
from arrowhook.core.models import iso
from arrowhook.core.rejections import RejectionReason

HOURS = 48
DAYS = 30
READ_LIMIT = 10_000


@dataclass
class Overview:
    hours: list[str]
    per_hour: dict[str, list[int]]
    days: list[str]
    per_day: dict[str, list[int]]
    alerts_48h: int
    with_issues_48h: int
    truncated: bool
    #: Repeated deliveries listed on the 48 hours' alerts (answered as duplicates, not stored again).
    duplicates_48h: int = 0
    #: Refusals per reason over the 48 hours; None when CloudWatch could not be read.
    rejections_48h: dict[RejectionReason, int] | None = None
    #: Per strategy, over the 48 hours: alerts flagged late, and alerts with a missed alert before them.
    late_48h: dict[str, int] = field(default_factory=dict)
    gaps_48h: dict[str, int] = field(default_factory=dict)

    @property
    def issue_rate(self) -> float:
        return self.with_issues_48h / self.alerts_48h if self.alerts_48h else 0.0

    @property
    def duplicate_rate(self) -> float:
        """Of every delivery that reached the store (stored or answered as a duplicate), the repeats."""
        deliveries = self.alerts_48h + self.duplicates_48h
        return self.duplicates_48h / deliveries if deliveries else 0.0

    def chart_data(self) -> dict[str, Any]:
        """What the page's charts draw (uPlot: x values, then one series per strategy)."""
        return {
            "hours": self.hours,
            "per_hour": self.per_hour,
            "days": self.days,
            "per_day": self.per_day,
        }


def overview(
    alerts: AlertQuery,
    counts: DailyCounts,
    now: datetime,
    rejections: RejectionCounts | None = None,
) -> Overview:
    now = now.astimezone(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    hour_starts = [this_hour - timedelta(hours=HOURS - 1 - index) for index in range(HOURS)]
    today = now.date()
    day_list = [today - timedelta(days=DAYS - 1 - index) for index in range(DAYS)]
    counted = counts.read(day for day in day_list if day < today)
    read_from = min(
        [hour_starts[0], *(datetime.combine(day, datetime.min.time(), UTC) for day in day_list if day not in counted)]
    )
    found, more = alerts.page(AlertFilter(since=read_from, until=now, newest_first=False, now=now), READ_LIMIT)

    per_hour: dict[str, list[int]] = defaultdict(lambda: [0] * HOURS)
    per_day: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    day_index = {day: index for index, day in enumerate(day_list)}
    in_window = with_issues = duplicates = 0
    late: dict[str, int] = defaultdict(int)
    gaps: dict[str, int] = defaultdict(int)
    for alert in found:
        received = alert.received_at.astimezone(UTC)
        hour = int((received.replace(minute=0, second=0, microsecond=0) - hour_starts[0]).total_seconds() // 3600)
        if 0 <= hour < HOURS:
            per_hour[alert.strategy][hour] += 1
            in_window += 1
            with_issues += bool(alert.parse_issues)
            duplicates += len(alert.duplicates)
            if alert.health is not None and not alert.is_test:
                late[alert.strategy] += alert.health.late
                gaps[alert.strategy] += alert.health.gap_before is not None
        day = received.date()
        if day in day_index and day not in counted:
            per_day[alert.strategy][day_index[day]] += 1
    for day, rows in counted.items():
        for row in rows:
            per_day[row.strategy][day_index[day]] += row.count
    return Overview(
        hours=[iso(moment) for moment in hour_starts],
        per_hour=dict(sorted(per_hour.items())),
        days=[day.isoformat() for day in day_list],
        per_day=dict(sorted(per_day.items())),
        alerts_48h=in_window,
        with_issues_48h=with_issues,
        truncated=more is not None,
        duplicates_48h=duplicates,
        rejections_48h=rejections.between(hour_starts[0], now) if rejections else None,
        late_48h={name: count for name, count in sorted(late.items()) if count},
        gaps_48h={name: count for name, count in sorted(gaps.items()) if count},
    )
