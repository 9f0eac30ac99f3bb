"""What a reconnecting client missed: the alerts after the last position it saw (`<received_at>#<id>`),
oldest first, of the strategies its connection receives. The client has subscribed before it asks, so an
alert arriving meanwhile comes both ways; clients keep each alert once, by id, in position order."""

from __future__ import annotations

from datetime import datetime

from arrowhook.alerts.query import AlertFilter, AlertPages
from arrowhook.core.errors import InvalidFilterError
from arrowhook.core.models import StoredAlert, iso
from arrowhook.live.connections import Connection

#: Alerts sent per `resume` at most; `complete` false says to ask again from the last one.
RESUME_LIMIT = 500


def position(alert: StoredAlert) -> str:
    return f"{iso(alert.received_at)}#{alert.alert_id}"


def missed(
    query: AlertPages, connection: Connection, after: str, limit: int = RESUME_LIMIT
) -> tuple[list[StoredAlert], bool]:
    """The alerts after `after` the connection would have received, oldest first, and whether that is all."""
    moment, _, _ = after.partition("#")
    try:
        since = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilterError("after: not a position (<received_at>#<alert_id>)") from None
    key_ids: list[str | None] = list(connection.strategies) if connection.strategies is not None else [None]
    found: dict[str, StoredAlert] = {}
    complete = True
    for key_id in key_ids:
        alerts, state = query.page(AlertFilter(key_id=key_id, since=since, newest_first=False), limit + 1)
        later = [alert for alert in alerts if position(alert) > after]
        complete = complete and state is None and len(later) <= limit
        found.update((alert.alert_id, alert) for alert in later)
    ordered = sorted(found.values(), key=position)
    return ordered[:limit], complete and len(ordered) <= limit
