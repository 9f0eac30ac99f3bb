"""The signal-health rules, pure: lag, a missed alert before this one, and time spent inside trading
hours. arrowhook.signals.watch runs them on the alerts stream and on the schedule.

Missed alerts come from the strategy's own state: an alert that says which position came before it
(`prev_market_position`, and `prev_market_position_size` when the template sends it) must find that
position left by the previous alert of the same strategy and ticker. Alerts are ordered by when
TradingView fired them (`timenow`, else when they arrived), and two alerts closer than the tolerance
(the settle delay) are taken in either order: a pair that arrives a few hundred milliseconds apart the
wrong way round is not a gap. A repeat of the same order (same transition and bar time or order id) is
not a gap either: the webhook's dedupe already dropped identical bodies, this is the same signal sent
with a new `timenow`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from arrowhook.core.fills import implied, prev_size
from arrowhook.core.models import StoredAlert
from arrowhook.core.signals import AlertHealth, GapBefore, SequenceCheck, TradingHours
from arrowhook.core.tradingview import MarketPosition, Side


def is_test(alert: StoredAlert) -> bool:
    """`arrowhook strategies test` marks its alerts (`"test": true`): they are never part of a sequence."""
    return alert.is_test


def fired_at(alert: StoredAlert) -> datetime:
    """When TradingView fired the alert, as well as the alert says: `timenow`, else its arrival."""
    return alert.fields.tv_timenow or alert.received_at


def lag_ms(alert: StoredAlert) -> int | None:
    """`timenow` (when TradingView fired the alert) to received_at; None without it (AlertHealth.of_lag)."""
    return AlertHealth.of_lag(alert.received_at, alert.fields.tv_timenow).lag_ms


def _describe(position: MarketPosition, size: Decimal | None) -> str:
    return (
        f"{position} {size.normalize():f}"
        if size is not None and position is not MarketPosition.FLAT
        else str(position)
    )


def _same_order(one: StoredAlert, other: StoredAlert) -> bool:
    """The same signal sent again: same transition and the same bar, order id or price."""
    a, b = one.fields, other.fields
    if (a.side, a.market_position, a.prev_market_position) != (b.side, b.market_position, b.prev_market_position):
        return False
    return any(
        x is not None and x == y for x, y in ((a.tv_time, b.tv_time), (a.order_id, b.order_id), (a.price, b.price))
    )


def _candidates(alert: StoredAlert, earlier: list[StoredAlert], tolerance: timedelta) -> list[StoredAlert]:
    """What may have come just before `alert`: every alert fired within the tolerance of it (either
    side), and the newest fired before that window. Newest first."""
    moment = fired_at(alert)
    close = [other for other in earlier if abs(fired_at(other) - moment) <= tolerance]
    before = [other for other in earlier if fired_at(other) < moment - tolerance]
    newest_before = max(before, key=lambda other: (fired_at(other), other.received_at), default=None)
    chosen = close + ([newest_before] if newest_before is not None else [])
    return sorted(chosen, key=lambda other: (fired_at(other), other.received_at), reverse=True)


def _after(other: StoredAlert, alert: StoredAlert) -> bool:
    """Whether `other` came after `alert`: later by when it fired (then by arrival), or, whatever the order
    it arrived in, it says so itself: the position it expects before it is the one `alert` leaves (a
    pyramid add a second after an entry)."""
    if (fired_at(other), other.received_at) > (fired_at(alert), alert.received_at):
        return True
    leaves, expected = implied(alert), other.fields.prev_market_position
    if leaves is None or expected is None or MarketPosition(expected) is not leaves[0]:
        return False
    size = prev_size(other)
    return size is None or leaves[1] is None or size == leaves[1]


def position_gap(alert: StoredAlert, earlier: Iterable[StoredAlert], tolerance: timedelta) -> GapBefore | None:
    """The position check: `earlier` holds alerts of the same strategy and ticker (any order)."""
    expected = alert.fields.prev_market_position
    if expected is None or is_test(alert):
        return None
    expected_position, expected_size = MarketPosition(expected), prev_size(alert)
    earlier = list(earlier)
    positions = {  # what each earlier alert says the strategy held after it
        other.alert_id: said
        for other in earlier
        if other.alert_id != alert.alert_id and not is_test(other) and (said := implied(other)) is not None
    }
    candidates = _candidates(alert, [other for other in earlier if other.alert_id in positions], tolerance)
    if not candidates:
        return None  # the first alert we know of for this ticker: nothing to compare with
    if expected_position is MarketPosition.FLAT and all(_after(other, alert) for other in candidates):
        return None  # it may be the ticker's first alert: everything near it came after it
    for other in candidates:
        position, size = positions[other.alert_id]
        sizes_agree = expected_size is None or size is None or size == expected_size
        if (position is expected_position and sizes_agree) or _same_order(alert, other):
            return None
    previous = candidates[0]
    found_position, found_size = positions[previous.alert_id]
    return GapBefore(
        rule=SequenceCheck.POSITIONS,
        expected=_describe(expected_position, expected_size),
        found=_describe(found_position, found_size),
        previous_alert_id=previous.alert_id,
    )


def alternation_gap(alert: StoredAlert, earlier: Iterable[StoredAlert], tolerance: timedelta) -> GapBefore | None:
    """The opt-in check for templates without position fields: entries and exits alternate."""
    side = alert.fields.side
    if side is None or is_test(alert) or implied(alert) is not None or alert.fields.prev_market_position:
        return None
    sided = [
        other
        for other in earlier
        if other.alert_id != alert.alert_id and not is_test(other) and other.fields.side is not None
    ]
    candidates = _candidates(alert, sided, tolerance)
    if not candidates:
        return None
    if any(other.fields.side != side or _same_order(alert, other) for other in candidates):
        return None
    previous = candidates[0]
    opposite = {Side.BUY: "a sell or close", Side.SELL: "a buy or close", Side.CLOSE: "an entry"}[Side(side)]
    return GapBefore(
        rule=SequenceCheck.ALTERNATING,
        expected=opposite,
        found=str(previous.fields.side),
        previous_alert_id=previous.alert_id,
    )


def gap_before(
    alert: StoredAlert, earlier: Iterable[StoredAlert], rule: SequenceCheck, tolerance: timedelta
) -> GapBefore | None:
    if rule is SequenceCheck.OFF:
        return None
    neighbours = [other for other in earlier if (other.fields.ticker or "") == (alert.fields.ticker or "")]
    found = position_gap(alert, neighbours, tolerance)
    if found is None and rule is SequenceCheck.ALTERNATING:
        found = alternation_gap(alert, neighbours, tolerance)
    return found


def needs_sequence_check(alert: StoredAlert, rule: SequenceCheck) -> bool:
    """Whether the alert is checked at all (only those wait for the settle delay)."""
    if rule is SequenceCheck.OFF or is_test(alert):
        return False
    if alert.fields.prev_market_position is not None:
        return True
    return rule is SequenceCheck.ALTERNATING and alert.fields.side is not None


# -- trading hours --------------------------------------------------------------------------------------
def sessions(hours: TradingHours, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The trading sessions overlapping [start, end), as aware datetimes (UTC offsets as the zone says,
    daylight saving included)."""
    zone = ZoneInfo(hours.timezone)
    local_start = start.astimezone(zone)
    found = []
    day = local_start.date() - timedelta(days=1)  # a session through midnight may have begun the day before
    while True:
        opens = datetime.combine(day, hours.start, zone)
        if opens >= end:
            break
        if day.weekday() in hours.weekdays:
            closes_day = day if hours.end > hours.start else day + timedelta(days=1)
            closes = datetime.combine(closes_day, hours.end, zone)
            if closes > start:
                found.append((max(opens, start), min(closes, end)))
        day += timedelta(days=1)
    return found


def trading_time(hours: TradingHours | None, start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) lies inside trading hours (all of it without hours)."""
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    return sum((closes - opens for opens, closes in sessions(hours, start, end)), timedelta(0))


def in_session(hours: TradingHours | None, moment: datetime) -> bool:
    return hours is None or bool(sessions(hours, moment, moment + timedelta(microseconds=1)))


def human(span: timedelta) -> str:
    """`2 h 5 min`, `45 min`, `30 s`: how notices say a duration."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part)
