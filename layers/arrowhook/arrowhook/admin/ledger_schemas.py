"""The ledger's and the reconciliation's answers (docs/ledger.md). Amounts are decimals written as JSON
strings, never floats: what a fill's price and quantity were, exactly."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, Field

from arrowhook.core.tradingview import MarketPosition
from arrowhook.ledger.book import Fill
from arrowhook.ledger.reconcile import ExportedFill, Reconciliation
from arrowhook.ledger.service import Ledger

GROSS = "Gross profit: commission is not in TradingView's alerts."


class TradeOut(BaseModel):
    ticker: str
    direction: MarketPosition
    quantity: Decimal
    entry_at: datetime
    entry_price: Decimal | None = Field(description="null: an entry the alerts never showed (see problems).")
    entry_alert_id: str | None
    exit_at: datetime
    exit_price: Decimal | None
    exit_alert_id: str | None
    profit: Decimal | None = Field(description="Gross; null when a price is unknown.")
    cumulative_profit: Decimal = Field(description="Realized from the range's start to this exit.")


class OpenPositionOut(BaseModel):
    ticker: str
    direction: MarketPosition
    quantity: Decimal
    average_price: Decimal | None = Field(description="Of the open lots; null when one's price is unknown.")
    mark_price: Decimal | None = Field(description="The latest alert's price for the ticker.")
    marked_at: datetime | None
    unrealized_profit: Decimal | None


class LedgerProblemOut(BaseModel):
    ticker: str
    alert_id: str
    at: datetime
    message: str


class LedgerOut(BaseModel):
    """One strategy's trades, realized profit and open positions, from its order-fill alerts."""

    key_id: str
    strategy: str
    ticker: str | None = Field(description="The ticker asked for; null: every ticker.")
    realized_pnl: Decimal = Field(description="Sum of the trades' known profits in the range. " + GROSS)
    trades: list[TradeOut]
    position: OpenPositionOut | None = Field(description="The ticker's open position (with `ticker` only).")
    positions: list[OpenPositionOut]
    problems: list[LedgerProblemOut] = Field(description="Fills that contradict the position, where they break it.")
    alerts_read: int
    complete: bool = Field(description="False when the strategy has more alerts than one ledger reads (20,000).")
    note: str = GROSS

    @classmethod
    def of(cls, key_id: str, strategy: str, ledger: Ledger, ticker: str | None, since: datetime | None) -> Self:
        trades = [
            TradeOut(ticker=item.ticker, **{**vars(item.trade), "cumulative_profit": item.cumulative_profit})
            for item in ledger.trades(ticker, since)
        ]
        positions = [OpenPositionOut(ticker=name, **vars(held)) for name, held in ledger.positions(ticker)]
        return cls(
            key_id=key_id,
            strategy=strategy,
            ticker=ticker,
            realized_pnl=trades[-1].cumulative_profit if trades else Decimal(0),
            trades=trades,
            position=positions[0] if ticker is not None and positions else None,
            positions=positions,
            problems=[
                LedgerProblemOut(ticker=name, **vars(problem)) for name, problem in ledger.problems(ticker, since)
            ],
            alerts_read=ledger.alerts_read,
            complete=ledger.complete,
        )


class ExportedFillOut(BaseModel):
    """An order of TradingView's list: its trade numbers, time (UTC), side, quantity and price."""

    trades: list[int]
    kind: str = Field(description="entry or exit (the first row's, for an order that is both: a reversal).")
    at: datetime
    side: str = Field(description="buy or sell")
    quantity: Decimal
    price: Decimal

    @classmethod
    def of(cls, fill: ExportedFill) -> Self:
        side = "buy" if fill.change > 0 else "sell"
        return cls(
            trades=list(fill.trades), kind=fill.kind, at=fill.at, side=side, quantity=abs(fill.change), price=fill.price
        )


class AlertFillOut(BaseModel):
    alert_id: str
    at: datetime = Field(description="When TradingView fired the alert (its `timenow`, else its arrival).")
    side: str
    quantity: Decimal
    price: Decimal | None

    @classmethod
    def of(cls, fill: Fill) -> Self:
        side = "buy" if fill.change > 0 else "sell"
        return cls(alert_id=fill.alert_id or "", at=fill.at, side=side, quantity=abs(fill.change), price=fill.price)


class MismatchOut(BaseModel):
    exported: ExportedFillOut
    alert: AlertFillOut
    problems: list[str]


class ReconciliationOut(BaseModel):
    """TradingView's List of trades against the strategy's alerts, over the list's time range."""

    key_id: str
    strategy: str
    ticker: str | None
    start: datetime | None
    end: datetime | None
    orders_in_export: int
    matched: int
    missing: list[ExportedFillOut] = Field(description="Orders in TradingView's list whose alert never arrived.")
    unmatched: list[AlertFillOut] = Field(description="Alert fills in the range with no order in the list.")
    mismatched: list[MismatchOut] = Field(description="Matched, but the price or quantity differs.")
    time_tolerance_seconds: float
    price_tolerance: Decimal
    complete: bool = Field(description="False when the strategy had more alerts than the ledger reads.")

    @classmethod
    def of(
        cls, key_id: str, strategy: str, ticker: str | None, found: Reconciliation, ledger: Ledger, *,
        time_tolerance: timedelta, price_tolerance: Decimal,
    ) -> Self:  # fmt: skip
        return cls(
            key_id=key_id,
            strategy=strategy,
            ticker=ticker,
            start=found.start,
            end=found.end,
            orders_in_export=found.exported,
            matched=found.matched,
            missing=[ExportedFillOut.of(fill) for fill in found.missing],
            unmatched=[AlertFillOut.of(fill) for fill in found.unmatched],
            mismatched=[
                MismatchOut(
                    exported=ExportedFillOut.of(item.exported),
                    alert=AlertFillOut.of(item.alert),
                    problems=list(item.problems),
                )
                for item in found.mismatched
            ],
            time_tolerance_seconds=time_tolerance.total_seconds(),
            price_tolerance=price_tolerance,
            complete=ledger.complete,
        )
