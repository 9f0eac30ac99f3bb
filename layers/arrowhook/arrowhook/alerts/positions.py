"""The position a strategy's alerts imply, per ticker: what TradingView said the strategy held after
its last order (`market_position`, or the sign of `position_size`), and when that was last confirmed.

Read from the strategy's alerts newest first (the AlertsByStrategy index), at most `max_alerts`: a ticker is
settled by its newest alert that says anything about the position; tickers whose alerts never do
(indicator alerts) are listed as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from arrowhook.alerts.query import AlertFilter, AlertQuery
from arrowhook.core.fills import implied
from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import MarketPosition

DEFAULT_MAX_ALERTS = 2_000
_PAGE = 200


@dataclass(frozen=True)
class Position:
    ticker: str
    #: long, short or flat; None when no alert of this ticker says (indicator alerts).
    position: MarketPosition | None
    size: Decimal | None
    #: The alert that last said so, and when it arrived.
    confirmed_at: datetime
    alert_id: str


def positions(
    alerts: AlertQuery, key_id: str, max_alerts: int = DEFAULT_MAX_ALERTS
) -> tuple[list[Position], int, bool]:
    """The positions by ticker, how many alerts were read, and whether every alert was (else capped)."""
    settled: dict[str, Position] = {}
    unknown: dict[str, StoredAlert] = {}
    state: dict[str, Any] | None = None
    read = 0
    while read < max_alerts:
        page, state = alerts.page(AlertFilter(key_id=key_id), min(_PAGE, max_alerts - read), state)
        read += len(page)
        for alert in page:
            ticker = alert.fields.ticker or "-"
            if ticker in settled or alert.is_test:  # a test alert is never a trade
                continue
            said = implied(alert)
            if said is None:
                unknown.setdefault(ticker, alert)
                continue
            settled[ticker] = Position(ticker, said[0], said[1], alert.received_at, alert.alert_id)
        if state is None:
            break
    for ticker, alert in unknown.items():
        if ticker not in settled:
            settled[ticker] = Position(ticker, None, None, alert.received_at, alert.alert_id)
    return sorted(settled.values(), key=lambda position: position.ticker), read, state is None
