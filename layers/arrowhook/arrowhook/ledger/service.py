"""A strategy's ledger as the API serves it: its alerts read newest first (at most MAX_LEDGER_ALERTS,
the bound that keeps one request inside the function's time), applied oldest first, then cut to the
requested ticker and time range. Alerts the archive has moved to S3 are not read: the ledger starts at
the oldest alert still in the table (docs/ledger.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from arrowhook.alerts.query import AlertFilter, AlertPages
from arrowhook.core.errors import NotAnExportError
from arrowhook.core.fills import ZERO
from arrowhook.core.models import StoredAlert
from arrowhook.ledger.book import Book, OpenPosition, Problem, Trade, books
from arrowhook.ledger.reconcile import (
    DEFAULT_PRICE_TOLERANCE,
    DEFAULT_TIME_TOLERANCE,
    MAX_EXPORT_BYTES,
    Reconciliation,
    parse_export,
    reconcile,
)

#: 20,000 alerts are ~40 Query pages and ~1 s of the ledger's own work (tests/unit/ledger: 10,000 fills).
MAX_LEDGER_ALERTS = 20_000
_PAGE = 500


@dataclass(frozen=True)
class TickerTrade:
    ticker: str
    trade: Trade
    #: Realized profit from the range's start to this trade's exit, all tickers asked for together.
    cumulative_profit: Decimal


@dataclass(frozen=True)
class Ledger:
    books: dict[str, Book]
    alerts_read: int
    complete: bool

    def trades(self, ticker: str | None, since: datetime | None) -> list[TickerTrade]:
        """Closed trades of the ticker (or all), exited at or after `since`, oldest exit first."""
        chosen = [
            (book.ticker, trade)
            for book in self.for_ticker(ticker)
            for trade in book.trades
            if since is None or trade.exit_at >= since
        ]
        chosen.sort(key=lambda pair: (pair[1].exit_at, pair[0]))
        total, found = ZERO, []
        for name, trade in chosen:
            total += trade.profit or ZERO
            found.append(TickerTrade(name, trade, total))
        return found

    def positions(self, ticker: str | None) -> list[tuple[str, OpenPosition]]:
        return [(book.ticker, held) for book in self.for_ticker(ticker) if (held := book.open_position()) is not None]

    def problems(self, ticker: str | None, since: datetime | None) -> list[tuple[str, Problem]]:
        found = [
            (book.ticker, problem)
            for book in self.for_ticker(ticker)
            for problem in book.problems
            if since is None or problem.at >= since
        ]
        return sorted(found, key=lambda pair: pair[1].at)

    def for_ticker(self, ticker: str | None) -> list[Book]:
        """The ticker's book (any case), or every book."""
        if ticker is None:
            return [self.books[name] for name in sorted(self.books)]
        return [self.books[name] for name in sorted(self.books) if name.upper() == ticker.upper()]


def read_alerts(
    alerts: AlertPages, key_id: str, until: datetime | None, max_alerts: int = MAX_LEDGER_ALERTS
) -> tuple[list[StoredAlert], bool]:
    """The strategy's alerts up to `until`, newest first, at most `max_alerts`, and whether that was all."""
    found: list[StoredAlert] = []
    state: dict[str, Any] | None = None
    wanted = AlertFilter(key_id=key_id, until=until)
    while len(found) < max_alerts:
        page, state = alerts.page(wanted, min(_PAGE, max_alerts - len(found)), state)
        found.extend(page)
        if state is None:
            return found, True
    return found, False


def strategy_ledger(
    alerts: AlertPages, key_id: str, until: datetime | None = None, max_alerts: int = MAX_LEDGER_ALERTS
) -> Ledger:
    found, complete = read_alerts(alerts, key_id, until, max_alerts)
    return Ledger(books(found), len(found), complete)


def reconcile_export(
    alerts: AlertPages,
    key_id: str,
    body: bytes,
    *,
    timezone: str = "UTC",
    ticker: str | None = None,
    time_tolerance: timedelta = DEFAULT_TIME_TOLERANCE,
    price_tolerance: Decimal = DEFAULT_PRICE_TOLERANCE,
) -> tuple[Reconciliation, Ledger]:
    """TradingView's List of trades export (the file's bytes, read for this answer only) against the
    strategy's fills; NotAnExportError or InvalidFilterError (400s) for a file that is not one."""
    if len(body) > MAX_EXPORT_BYTES:
        raise NotAnExportError(f"the export is over {MAX_EXPORT_BYTES // 1024 // 1024} MB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotAnExportError("not a text file: expected TradingView's List of trades export (CSV, UTF-8)") from None
    exported = parse_export(text, timezone)
    ledger = strategy_ledger(alerts, key_id)
    return reconcile(exported, ledger.for_ticker(ticker), time_tolerance, price_tolerance), ledger
