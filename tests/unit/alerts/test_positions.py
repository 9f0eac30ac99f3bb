"""Positions implied by a strategy's alerts: the newest alert that says anything settles a ticker."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arrowhook.alerts.positions import positions
from arrowhook.alerts.query import AlertQuery
from arrowhook.alerts.store import AlertStore
from arrowhook.core.fills import implied
from arrowhook.core.tradingview import MarketPosition
from arrowhook_tools.local.template import LocalTemplate
from tests.conftest import Strategy
from tests.fakes.alerts import stored_alert


def test_what_one_alert_implies() -> None:
    strategy = type("Key", (), {"id": "K", "name": "s"})()
    assert implied(stored_alert(strategy, 0, market_position="long", market_position_size="2")) == (
        MarketPosition.LONG,
        Decimal(2),
    )
    assert implied(stored_alert(strategy, 0, position_size="-3")) == (MarketPosition.SHORT, Decimal(3))
    assert implied(stored_alert(strategy, 0, position_size="0")) == (MarketPosition.FLAT, Decimal(0))
    assert implied(stored_alert(strategy, 0, side="buy")) is None


def test_each_ticker_is_settled_by_its_newest_alert_that_says(
    aws: Any, template: LocalTemplate, make_strategy: Callable[[str], Strategy]
) -> None:
    key = make_strategy("pos").key
    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    sequence = [
        stored_alert(key, 0, ticker="BTCUSDT", market_position="long", market_position_size="1"),
        stored_alert(key, 1, ticker="ETHUSDT", position_size="-2"),
        stored_alert(key, 2, ticker="BTCUSDT", market_position="flat", market_position_size="0"),
        stored_alert(key, 3, ticker="BTCUSDT", side="buy"),  # says nothing about the position
        stored_alert(key, 4, ticker="SOLUSDT", side="sell"),  # an indicator: unknown
        # A test alert (`arrowhook keys test`) is never a trade, whatever it says.
        stored_alert(key, 5, ticker="BTCUSDT", market_position="long", market_position_size="1").model_copy(
            update={"extra": {"test": True}}
        ),
    ]
    for number, alert in enumerate(sequence):
        store.put(alert, f"pos-{number}", 0)
    found, read, complete = positions(AlertQuery(template.physical_name("AlertsTable"), client=aws), key.id)
    assert (read, complete) == (6, True)
    assert [(p.ticker, p.position, p.size, p.alert_id) for p in found] == [
        ("BTCUSDT", MarketPosition.FLAT, Decimal(0), sequence[2].alert_id),
        ("ETHUSDT", MarketPosition.SHORT, Decimal(2), sequence[1].alert_id),
        ("SOLUSDT", None, None, sequence[4].alert_id),
    ]
    capped, read, complete = positions(AlertQuery(template.physical_name("AlertsTable"), client=aws), key.id, 3)
    assert (read, complete) == (3, False)
    assert [p.ticker for p in capped] == ["BTCUSDT", "SOLUSDT"]
