"""The ledger on hand-computed sequences: pyramiding and a partial exit closed first in, first out, a
reversal, `position_size`-only alerts, the short mirrors, a fill that contradicts the position, the open
position marked at the latest price, and test alerts left out."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from arrowhook.core.fills import FillMeaning, fill_meaning
from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import MarketPosition
from arrowhook.ledger.book import books
from tests.fakes.alerts import stored_alert

STRATEGY = SimpleNamespace(id="01KEYLEDGER0000000000000000", name="ema-cross")
D = Decimal


def fill(minute: int, *, prev_size: str | None = None, **fields: Any) -> StoredAlert:
    alert = stored_alert(STRATEGY, minute, **{"ticker": "BTCUSDT", **fields})
    return alert.model_copy(update={"extra": {"prev_market_position_size": prev_size}}) if prev_size else alert


def order(
    minute: int, side: str, quantity: str, price: str, before: tuple[str, str], after: tuple[str, str]
) -> StoredAlert:
    """A strategy order alert as the usual template sends it: action, contracts, price, both positions."""
    return fill(
        minute, side=side, quantity=quantity, price=price, prev_market_position=before[0], prev_size=before[1],
        market_position=after[0], market_position_size=after[1],
    )  # fmt: skip


def meanings(alerts: list[StoredAlert]) -> list[FillMeaning | None]:
    return [item.meaning for item in books(alerts)["BTCUSDT"].fills]


def test_pyramiding_then_a_partial_exit_closes_the_oldest_lot_first() -> None:
    alerts = [
        order(0, "buy", "2", "100", ("flat", "0"), ("long", "2")),
        order(1, "buy", "1", "110", ("long", "2"), ("long", "3")),
        order(2, "sell", "2", "120", ("long", "3"), ("long", "1")),  # closes the first lot: (120-100) x 2
        order(3, "sell", "1", "90", ("long", "1"), ("flat", "0")),  # then the second: (90-110) x 1
    ]
    book = books(alerts)["BTCUSDT"]
    assert meanings(alerts) == [
        FillMeaning.OPEN_LONG,
        FillMeaning.ADD_LONG,
        FillMeaning.REDUCE_LONG,
        FillMeaning.CLOSE_LONG,
    ]
    assert [(trade.quantity, trade.entry_price, trade.exit_price, trade.profit) for trade in book.trades] == [
        (D(2), D(100), D(120), D(40)),
        (D(1), D(110), D(90), D(-20)),
    ]
    assert [trade.cumulative_profit for trade in book.trades] == [D(40), D(20)]
    assert book.realized == D(20) and book.open_position() is None and not book.problems
    assert [fill_meaning(alert) for alert in alerts] == meanings(alerts), "one alert alone says the same"


def test_a_reversal_closes_the_long_and_opens_a_short_with_the_rest() -> None:
    alerts = [
        order(0, "buy", "1", "100", ("flat", "0"), ("long", "1")),
        order(1, "sell", "2", "105", ("long", "1"), ("short", "1")),  # long +5, then short 1 @ 105
        order(2, "buy", "1", "100.5", ("short", "1"), ("flat", "0")),  # short +4.5
    ]
    book = books(alerts)["BTCUSDT"]
    assert meanings(alerts) == [FillMeaning.OPEN_LONG, FillMeaning.REVERSE_TO_SHORT, FillMeaning.CLOSE_SHORT]
    assert [(trade.direction, trade.profit) for trade in book.trades] == [
        (MarketPosition.LONG, D(5)),
        (MarketPosition.SHORT, D("4.5")),
    ]
    assert book.realized == D("9.5")


def test_the_short_mirrors_and_position_size_only_alerts() -> None:
    alerts = [
        fill(0, position_size="-3", price="50"),
        fill(1, position_size="-4", price="48"),
        fill(2, position_size="-1", price="45"),  # buys 3: the first lot, (50-45) x 3
        fill(3, position_size="0", price="47"),  # buys 1: the second lot, (48-47) x 1
    ]
    book = books(alerts)["BTCUSDT"]
    assert meanings(alerts) == [
        FillMeaning.OPEN_SHORT, FillMeaning.ADD_SHORT, FillMeaning.REDUCE_SHORT, FillMeaning.CLOSE_SHORT,
    ]  # fmt: skip
    assert [trade.profit for trade in book.trades] == [D(15), D(1)]
    assert [trade.quantity for trade in book.trades] == [D(3), D(1)]


def test_a_fill_that_contradicts_the_position_is_a_problem_at_its_place_not_absorbed() -> None:
    alerts = [
        order(0, "buy", "1", "100", ("flat", "0"), ("long", "1")),
        # The add to long 2 never arrived: this exit expects long 2.
        order(5, "sell", "2", "110", ("long", "2"), ("flat", "0")),
    ]
    book = books(alerts)["BTCUSDT"]
    (problem,) = book.problems
    assert problem.alert_id == alerts[1].alert_id
    assert "held long 2 before this fill; the ledger held long 1" in problem.message
    assert [fill.price for fill in book.fills] == [D(100), None, D(110)], "the missing move, at no price"
    assert [trade.profit for trade in book.trades] == [D(10), None]
    assert book.realized == D(10)


def test_an_order_that_does_not_lead_where_tradingview_says_follows_tradingview() -> None:
    alerts = [
        order(0, "buy", "1", "100", ("flat", "0"), ("long", "1")),
        fill(1, side="buy", quantity="1", price="101", market_position="long", market_position_size="3"),
    ]
    book = books(alerts)["BTCUSDT"]
    (problem,) = book.problems
    assert "would leave long 2; TradingView says long 3" in problem.message
    assert book.position == D(3)


def test_the_open_position_is_averaged_and_marked_at_the_latest_price_and_test_alerts_are_never_trades() -> None:
    alerts = [
        order(0, "buy", "1", "100", ("flat", "0"), ("long", "1")),
        order(1, "buy", "3", "104", ("long", "1"), ("long", "4")),
        fill(2, side="buy", quantity="9", price="1", market_position="long", market_position_size="13", test=True),
        fill(3, price="110"),  # an indicator alert: only a price
    ]
    alerts[2] = alerts[2].model_copy(update={"extra": {"test": True}})
    position = books(alerts)["BTCUSDT"].open_position()
    assert position is not None
    assert (position.direction, position.quantity, position.average_price) == (MarketPosition.LONG, D(4), D(103))
    assert (position.mark_price, position.unrealized_profit) == (D(110), D(28))


def test_ten_thousand_fills_in_one_ledger_every_round_trip_closed() -> None:
    """Sized by count (bench_ledger.py times it): 5,000 entries and 5,000 exits, one trade each."""
    alerts = []
    for number in range(5_000):
        alerts.append(fill(2 * number, side="buy", quantity="1", price=str(100 + number % 7)))
        alerts.append(fill(2 * number + 1, side="sell", quantity="1", price=str(101 + number % 7)))
    book = books(alerts)["BTCUSDT"]
    assert len(book.trades) == 5_000 and book.position == 0
    assert book.realized == D(5_000), "each round trip made 1"


def test_a_short_marked_at_its_entry_shows_zero_not_minus_zero() -> None:
    position = books([order(0, "sell", "1", "105", ("flat", "0"), ("short", "1"))])["BTCUSDT"].open_position()
    assert position is not None and str(position.unrealized_profit) == "0"
