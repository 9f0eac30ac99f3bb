"""`arrowhook alerts tail`: which alerts are new, from the alerts themselves rather than the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arrowhook.alert_query import parse_moment
from arrowhook.models import iso

#: An alert is ordered by when the webhook received it, but its write can land a little later (a slow
#: or retried DynamoDB write, bounded by the webhook's timeout): each poll looks back this far behind
#: the newest alert shown, and remembers what it showed there so nothing is printed twice.
LATE_WRITE_MARGIN = timedelta(seconds=30)


@dataclass
class AlertFollower:
    """Resolves `--since` once, then follows the newest alert shown, never the wall clock."""

    start: datetime
    shown: dict[str, str] = field(default_factory=dict)  # alert id -> received_at

    @classmethod
    def starting(cls, since: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> AlertFollower:
        return cls(start=parse_moment(since, now()))

    def query_since(self) -> str:
        if not self.shown:
            return iso(self.start)
        newest = parse_moment(max(self.shown.values()))
        return iso(max(self.start, newest - LATE_WRITE_MARGIN))

    def fresh(self, listed: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts of one poll not shown before, oldest first; forgets what fell behind the look-back."""
        new = sorted(
            (alert for alert in listed if alert["alert_id"] not in self.shown),
            key=lambda alert: (alert["received_at"], alert["alert_id"]),
        )
        self.shown.update({alert["alert_id"]: alert["received_at"] for alert in new})
        floor = self.query_since()
        self.shown = {
            alert_id: received for alert_id, received in self.shown.items() if iso(parse_moment(received)) >= floor
        }
        return new
