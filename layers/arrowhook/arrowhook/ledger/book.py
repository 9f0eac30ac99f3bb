"""A strategy's ledger, from its order-fill alerts, in exact decimals: each fill and what it meant, the
closed trades (first in, first out, as TradingView's Strategy Tester closes them by default), the
realized profit, and the open position marked at the latest price. Gross: commission is not in alerts.

Pure: `Book.apply` takes one alert at a time, oldest first (by when TradingView fired it). An alert's
stated position wins: where it says the strategy held something other than what the ledger holds
before it, or its order does not lead to the position it says after it, a problem is recorded at that
place and the ledger moves to TradingView's position with a fill of unknown price (the trades it closes
have no profit), never silently.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from arrowhook.core.fills import ZERO, FillMeaning, meaning, order_change, stated_after, stated_before
from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import MarketPosition


@dataclass
class Lot:
    """An open entry not yet closed: what is left of it."""

    quantity: Decimal
    price: Decimal | None
    at: datetime
    alert_id: str | None


@dataclass(frozen=True)
class Fill:
    alert_id: str | None
    at: datetime
    #: Signed position change: + bought, - sold.
    change: Decimal
    price: Decimal | None
    before: Decimal
    after: Decimal
    meaning: FillMeaning | None


@dataclass(frozen=True)
class Trade:
    direction: MarketPosition
    quantity: Decimal
    entry_at: datetime
    entry_price: Decimal | None
    entry_alert_id: str | None
    exit_at: datetime
    exit_price: Decimal | None
    exit_alert_id: str | None
    #: Gross; None when a price is unknown (a fill the alerts never showed).
    profit: Decimal | None
    cumulative_profit: Decimal


@dataclass(frozen=True)
class Problem:
    alert_id: str
    at: datetime
    message: str


@dataclass(frozen=True)
class OpenPosition:
    direction: MarketPosition
    quantity: Decimal
    #: None when a lot's price is unknown.
    average_price: Decimal | None
    mark_price: Decimal | None
    marked_at: datetime | None
    unrealized_profit: Decimal | None


def _shown(position: Decimal) -> str:
    if position == ZERO:
        return "flat"
    return f"{'long' if position > 0 else 'short'} {abs(position).normalize():f}"


@dataclass
class Book:
    """One strategy's ledger for one ticker."""

    ticker: str
    position: Decimal = ZERO
    lots: deque[Lot] = field(default_factory=deque)
    fills: list[Fill] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    realized: Decimal = ZERO
    mark_price: Decimal | None = None
    marked_at: datetime | None = None

    def apply(self, alert: StoredAlert) -> None:
        """One alert, in order. Test alerts are never trades; an alert that says nothing of the position
        or the order (an indicator alert) only marks the price."""
        if alert.is_test:
            return
        at = alert.fields.tv_timenow or alert.received_at
        price = alert.fields.price
        if price is not None:
            self.mark_price, self.marked_at = price, at
        before, after, change = stated_before(alert), stated_after(alert), order_change(alert)
        if after is None and change is None:
            return
        if before is not None and before != self.position:
            self._problem(
                alert, at, f"TradingView held {_shown(before)} before this fill; the ledger held "
                f"{_shown(self.position)}: an alert is missing before it (moved there at an unknown price)"
            )  # fmt: skip
            self._move(before - self.position, None, at, None)
        target = after if after is not None else self.position + change  # type: ignore[operator]
        if after is not None and change is not None and self.position + change != after:
            self._problem(
                alert, at, f"the order ({change.normalize():+f}) from {_shown(self.position)} would leave "
                f"{_shown(self.position + change)}; TradingView says {_shown(after)}: the ledger follows it"
            )  # fmt: skip
        self._move(target - self.position, price, at, alert.alert_id)

    def _problem(self, alert: StoredAlert, at: datetime, message: str) -> None:
        self.problems.append(Problem(alert.alert_id, at, message))

    def _move(self, change: Decimal, price: Decimal | None, at: datetime, alert_id: str | None) -> None:
        before = self.position
        self.fills.append(Fill(alert_id, at, change, price, before, before + change, meaning(before, before + change)))
        remaining = change
        while remaining != ZERO and self.lots and (self.position > 0) != (remaining > 0):
            lot = self.lots[0]
            taken = min(abs(remaining), lot.quantity)
            self._close(lot, taken, price, at, alert_id)
            lot.quantity -= taken
            if lot.quantity == ZERO:
                self.lots.popleft()
            step = taken if remaining > 0 else -taken
            remaining -= step
            self.position += step
        if remaining != ZERO:
            self.lots.append(Lot(abs(remaining), price, at, alert_id))
            self.position += remaining

    def _close(self, lot: Lot, quantity: Decimal, price: Decimal | None, at: datetime, alert_id: str | None) -> None:
        direction = MarketPosition.LONG if self.position > 0 else MarketPosition.SHORT
        profit = None
        if lot.price is not None and price is not None:
            gained = price - lot.price if direction is MarketPosition.LONG else lot.price - price
            profit = gained * quantity
            self.realized += profit
        self.trades.append(
            Trade(direction, quantity, lot.at, lot.price, lot.alert_id, at, price, alert_id, profit, self.realized)
        )

    def open_position(self) -> OpenPosition | None:
        if self.position == ZERO:
            return None
        quantity = abs(self.position)
        direction = MarketPosition.LONG if self.position > 0 else MarketPosition.SHORT
        average = None
        if all(lot.price is not None for lot in self.lots):
            average = sum((lot.quantity * lot.price for lot in self.lots if lot.price is not None), ZERO) / quantity
        unrealized = None
        if average is not None and self.mark_price is not None:
            gained = self.mark_price - average if direction is MarketPosition.LONG else average - self.mark_price
            unrealized = gained * quantity
        return OpenPosition(direction, quantity, average, self.mark_price, self.marked_at, unrealized)


def books(alerts: list[StoredAlert]) -> dict[str, Book]:
    """Every ticker's book from a strategy's alerts (any order: they are applied by when they fired)."""
    ordered = sorted(alerts, key=lambda alert: (alert.fields.tv_timenow or alert.received_at, alert.received_at))
    found: dict[str, Book] = {}
    for alert in ordered:
        ticker = alert.fields.ticker or "-"
        found.setdefault(ticker, Book(ticker)).apply(alert)
    return found
