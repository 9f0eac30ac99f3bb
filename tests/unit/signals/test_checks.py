"""The signal-health rules on recorded sequences: alerts removed, repeated and reordered."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arrowhook.core.models import StoredAlert, new_id
from arrowhook.core.signals import SequenceCheck, TradingHours
from arrowhook.core.tradingview import AlertFields
from arrowhook.signals.checks import gap_before, lag_ms, needs_sequence_check, trading_time

START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
SETTLE = timedelta(seconds=1)


def alert(
    fired: float,
    *,
    arrived: float | None = None,
    prev: str | None = None,
    position: str | None = None,
    size: str | None = None,
    side: str | None = None,
    ticker: str = "BTCUSDT",
    timenow: bool = True,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> StoredAlert:
    """An alert TradingView fired `fired` seconds after START, received `arrived` seconds after (fired + 0.2)."""
    received = START + timedelta(seconds=fired + 0.2 if arrived is None else arrived)
    return StoredAlert(
        alert_id=new_id(int(received.timestamp() * 1000)),
        key_id="k",
        strategy="ema-cross",
        received_at=received,
        body_format="json",
        fields=AlertFields.model_validate(
            {
                "ticker": ticker,
                "side": side,
                "prev_market_position": prev,
                "market_position": position,
                "market_position_size": Decimal(size) if size else None,
                "tv_timenow": START.replace(microsecond=0) + timedelta(seconds=int(fired)) if timenow else None,
                **fields,
            }
        ),
        extra=extra or {},
        payload="{}",
    )


def round_trip(start: float = 0, spacing: float = 60) -> list[StoredAlert]:
    """A flat-long-flat-short-flat strategy, one order a minute."""
    steps = [("flat", "long", "buy"), ("long", "flat", "sell"), ("flat", "short", "sell"), ("short", "flat", "buy")]
    return [
        alert(start + index * spacing, prev=prev, position=position, side=side, size="1" if position != "flat" else "0")
        for index, (prev, position, side) in enumerate(steps)
    ]


def gaps(sequence: list[StoredAlert], rule: SequenceCheck = SequenceCheck.POSITIONS) -> list[int]:
    """Indexes of the alerts flagged, each checked against every other alert (as after settling)."""
    return [index for index, one in enumerate(sequence) if gap_before(one, sequence, rule, SETTLE) is not None]


def test_a_complete_sequence_has_no_gap() -> None:
    assert gaps(round_trip()) == []


def test_the_first_alert_followed_within_the_tolerance_by_a_pyramid_add_is_no_gap() -> None:
    """A ticker's first entry, and an add a second later: the add says it follows the entry (its prev is
    what the entry left), so it is no candidate for what came before the entry, which was nothing."""
    entry = alert(0, prev="flat", position="long", size="1", side="buy")
    add = alert(1, prev="long", position="long", size="2", side="buy")
    add = add.model_copy(update={"extra": {"prev_market_position_size": "1"}})
    assert gaps([entry, add]) == []
    missing_add = alert(1, prev="long", position="long", size="3", side="buy")
    missing_add = missing_add.model_copy(update={"extra": {"prev_market_position_size": "2"}})
    assert gaps([entry, missing_add]) == [1], "an add that expected more than the entry left still is a gap"


def test_a_removed_alert_flags_the_next_one_with_what_it_expected() -> None:
    sequence = round_trip()
    del sequence[1]  # long -> flat never arrived
    assert gaps(sequence) == [1]
    found = gap_before(sequence[1], sequence, SequenceCheck.POSITIONS, SETTLE)
    assert found is not None
    assert (found.expected, found.found, found.previous_alert_id) == ("flat", "long 1", sequence[0].alert_id)


def test_the_first_alert_of_a_ticker_is_not_a_gap() -> None:
    assert gaps(round_trip()[2:]) == []


def test_two_alerts_arriving_a_few_hundred_ms_apart_in_the_wrong_order_are_not_a_gap() -> None:
    entry, exit_ = round_trip()[:2]  # flat at 60 s
    for timenow in (True, False):  # ordered by timenow (same second), or by arrival (0.25 s apart)
        opened = alert(120.0, arrived=120.6, prev="flat", position="long", size="1", side="buy", timenow=timenow)
        closed = alert(120.3, arrived=120.35, prev="long", position="flat", size="0", side="sell", timenow=timenow)
        assert gaps([entry, exit_, closed, opened]) == [], "the pair settles in either order"


def test_a_reordering_beyond_the_settle_delay_with_a_real_gap_is_still_found() -> None:
    sequence = round_trip()
    late_exit = alert(200, prev="long", position="flat", side="sell", size="0")  # 'long' never came before it
    assert gaps([*sequence, late_exit]) == [4]


def test_the_same_order_sent_twice_with_a_new_timenow_is_not_a_gap() -> None:
    first = alert(0, prev="flat", position="long", size="1", side="buy", order_id="L1")
    again = alert(2, prev="flat", position="long", size="1", side="buy", order_id="L1")
    assert gaps([first, again]) == []


def test_a_missing_pyramid_step_is_found_from_the_sizes() -> None:
    opened = alert(0, prev="flat", position="long", size="1", side="buy")
    added = alert(60, prev="long", position="long", size="2", side="buy", extra={"prev_market_position_size": "1"})
    closed = alert(120, prev="long", position="flat", size="0", side="sell", extra={"prev_market_position_size": "3"})
    assert gaps([opened, added, closed]) == [2], "closed expected 3 contracts, the last alert left 2"
    found = gap_before(closed, [opened, added, closed], SequenceCheck.POSITIONS, SETTLE)
    assert found is not None and (found.expected, found.found) == ("long 3", "long 2")


def test_tickers_are_separate_sequences() -> None:
    btc = round_trip()
    eth = [alert(30, prev="flat", position="long", size="1", side="buy", ticker="ETHUSDT")]
    assert gaps([*btc, *eth]) == []
    eth.append(alert(90, prev="flat", position="short", size="1", side="sell", ticker="ETHUSDT"))
    assert gaps([*btc, *eth]) == [5]


def test_test_alerts_are_never_part_of_a_sequence() -> None:
    sequence = round_trip()
    probe = alert(30, prev="flat", position="short", side="sell", extra={"test": True})
    assert gaps([*sequence, probe]) == []
    assert not needs_sequence_check(probe, SequenceCheck.POSITIONS)


def test_buy_after_buy_is_a_gap_only_for_a_strategy_that_opted_in() -> None:
    simple = [alert(0, side="buy"), alert(60, side="sell"), alert(120, side="buy"), alert(180, side="buy")]
    assert gaps(simple, SequenceCheck.POSITIONS) == []
    assert gaps(simple, SequenceCheck.ALTERNATING) == [3]
    assert gaps(simple, SequenceCheck.OFF) == []
    assert needs_sequence_check(simple[0], SequenceCheck.ALTERNATING)
    assert not needs_sequence_check(simple[0], SequenceCheck.POSITIONS)


def test_a_close_with_nothing_open_is_a_gap_for_an_alternating_strategy() -> None:
    simple = [alert(0, side="buy"), alert(60, side="close"), alert(120, side="close")]
    found = gap_before(simple[2], simple, SequenceCheck.ALTERNATING, SETTLE)
    assert found is not None and (found.expected, found.found) == ("an entry", "close")


def test_an_alternating_pair_reordered_within_the_settle_delay_is_not_a_gap() -> None:
    simple = [alert(0, side="buy"), alert(60.1, arrived=60.9, side="sell"), alert(60.4, arrived=60.5, side="buy")]
    assert gaps(simple, SequenceCheck.ALTERNATING) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tv_timenow": START - timedelta(seconds=75)}, 75_200),
        # The bar's open time is not when the alert fired: a fresh alert on a 15-minute bar is not late.
        ({"tv_time": START - timedelta(minutes=15)}, None),
        ({"tv_timenow": START + timedelta(seconds=5)}, 0),  # the sender's clock is ahead: no lag
        ({}, None),
    ],
)
def test_lag_runs_from_timenow_only(fields: dict[str, Any], expected: int | None) -> None:
    one = alert(0, timenow=False).model_copy(
        update={"fields": AlertFields.model_validate(fields), "received_at": START + timedelta(seconds=0.2)}
    )
    assert lag_ms(one) == expected


NEW_YORK = TradingHours(timezone="America/New_York", weekdays=(0, 1, 2, 3, 4), start=time(9, 30), end=time(16))


def test_trading_time_counts_only_the_sessions() -> None:
    friday_close = datetime(2026, 11, 20, 20, 55, tzinfo=UTC)  # 15:55 in New York (EST)
    monday_open = datetime(2026, 11, 23, 14, 40, tzinfo=UTC)  # 09:40
    assert trading_time(NEW_YORK, friday_close, monday_open) == timedelta(minutes=15)
    assert trading_time(None, friday_close, monday_open) == monday_open - friday_close


def test_trading_time_follows_daylight_saving() -> None:
    # 2026-11-01: New York leaves daylight saving; the session opens at 13:30 UTC before, 14:30 after.
    before = trading_time(
        NEW_YORK, datetime(2026, 10, 30, 13, 0, tzinfo=UTC), datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
    )
    after = trading_time(NEW_YORK, datetime(2026, 11, 2, 13, 0, tzinfo=UTC), datetime(2026, 11, 2, 14, 0, tzinfo=UTC))
    assert (before, after) == (timedelta(minutes=30), timedelta(0))


def test_a_session_through_midnight() -> None:
    futures = TradingHours(timezone="America/Chicago", weekdays=(6, 0, 1, 2, 3), start=time(17), end=time(16))
    sunday_evening = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 17:00 Sunday in Chicago: the week opens
    assert trading_time(futures, sunday_evening - timedelta(hours=2), sunday_evening + timedelta(hours=1)) == timedelta(
        hours=1
    )
    saturday = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    assert trading_time(futures, saturday, saturday + timedelta(hours=3)) == timedelta(0)


def test_time_zones_resolve_without_a_system_zone_database() -> None:
    """Lambda's runtime may have no /usr/share/zoneinfo: the layer ships the tzdata package instead."""
    import subprocess
    import sys

    probe = (
        "from arrowhook.core.signals import TradingHours; "
        "print(TradingHours.parse('mon-fri 09:30-16:00 America/New_York'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env={"PYTHONTZPATH": "", "PATH": ""}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "America/New_York" in result.stdout


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("someday 9-5", "trading hours: expected e.g. 'mon-fri 09:30-16:00 America/New_York'"),
        ("mon-fri 09:30-16:00 Mars/Base", "trading hours: unknown time zone 'Mars/Base'"),
        ("mon-fry 09:30-16:00", "trading hours: unknown day in 'mon-fry'"),
    ],
)
def test_trading_hours_text_that_cannot_be_read_says_why_in_one_line(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=r"^trading hours") as refused:
        TradingHours.parse(text)
    assert str(refused.value).startswith(said) and "\n" not in str(refused.value)


def test_a_pyramid_add_arriving_before_the_entry_still_leaves_the_entry_first() -> None:
    entry = alert(0, arrived=0.6, prev="flat", position="long", size="1", side="buy", timenow=False)
    add = alert(0.3, arrived=0.35, prev="long", position="long", size="2", side="buy", timenow=False)
    add = add.model_copy(update={"extra": {"prev_market_position_size": "1"}})
    assert gaps([entry, add]) == []


def test_two_entries_from_flat_at_once_flag_the_later_one() -> None:
    opened = alert(0, arrived=0.2, prev="flat", position="long", size="1", side="buy")
    flagged = alert(0, arrived=0.3, prev="flat", position="short", size="1", side="sell")
    assert gaps([opened, flagged]) == [1]
