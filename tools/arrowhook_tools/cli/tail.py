"""`arrowhook alerts tail`: which alerts are new, from the alerts themselves rather than the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arrowhook.alerts.query import parse_moment
from arrowhook.core.models import iso

#: An alert is ordered by when the webhook received it, but its write can land a little later (a slow
#: or retried DynamoDB write, bounded by the webhook's timeout): each poll looks back this far behind
#: the newest alert shown, and remembers what it showed there so nothing is printed twice.
LATE_WRITE_MARGIN = timedelta(seconds=30)


@dataclass
class AlertFollower:
    """Resolves `--since` once, then follows the newest alert shown, never the wall clock."""

    start: datetime
    shown: dict[str, datetime] = field(default_factory=dict)  # alert id -> received_at

    @classmethod
    def starting(cls, since: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> AlertFollower:
        return cls(start=parse_moment(since, now()))

    def query_since(self) -> str:
        if not self.shown:
            return iso(self.start)
        return iso(self._floor())

    def _floor(self) -> datetime:
        if not self.shown:
            return self.start
        return max(self.start, max(self.shown.values()) - LATE_WRITE_MARGIN)

    def fresh(self, listed: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alerts of one poll not shown before, oldest first; forgets what fell behind the look-back."""
        # Compared as times, not strings: a JSON timestamp omits its fraction when it is zero.
        new = sorted(
            (alert for alert in listed if alert["alert_id"] not in self.shown),
            key=lambda alert: (parse_moment(alert["received_at"]), alert["alert_id"]),
        )
        self.shown.update({alert["alert_id"]: parse_moment(alert["received_at"]) for alert in new})
        floor = self._floor()
        self.shown = {alert_id: received for alert_id, received in self.shown.items() if received >= floor}
        return new
